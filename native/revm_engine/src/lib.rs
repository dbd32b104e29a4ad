//! `collective_revm`: revm 19.4 (Prague: EIP-7702, EIP-7623, EIP-2537) for Collective's node.
//!
//! One [`Engine`] executes the transactions of one block with revm's full transaction
//! semantics (`Evm::transact`: nonce, gas purchase and refund, coinbase tip, base fee burn,
//! access lists, EIP-7702 authorizations), each with a fresh journal. State is read lazily
//! through a Python object (the py-evm state the block is built on) and cached in a
//! `CacheDB` that also holds every change made so far; `take_changes` hands the changed
//! accounts and slots back so the caller writes them into its own state (and computes the
//! state root there). [`Engine::call`] runs one unsigned call (`eth_call`) on the same
//! lazy state and keeps nothing. A contract's code crosses from Python and is analysed once
//! per process: [`code_cache`] keeps it by code hash. Python side:
//! `collective/node/execution/revm.py`. The HTTP front's common case (a plain POST read by
//! `httparse`, constant JSON-RPC answers) is in [`front`].
mod front;

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, OnceLock};

use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyTuple};
use revm::db::{AccountState, CacheDB, DatabaseRef};
use revm::primitives::eip7702::{
    Authorization, AuthorizationList, RecoveredAuthority, RecoveredAuthorization,
};
use revm::primitives::{
    AccessListItem, AccountInfo, Address, BlobExcessGasAndPrice, BlockEnv, Bytecode, Bytes,
    EVMError, ExecutionResult, ResultAndState, SpecId, TxEnv, TxKind, B256, KECCAK_EMPTY, U256,
};
use revm::{DatabaseCommit, Evm};

/// A failure inside a Python state callback.
#[derive(Debug)]
pub struct DbErr(String);

impl std::fmt::Display for DbErr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DbErr {}

/// State read lazily from Python: `account(addr20) -> None | (balance32, nonce, code_hash32)`,
/// `code(addr20) -> bytes` (asked only for code not in [`code_cache`]),
/// `storage(addr20, slot32) -> value32`, `block_hash(number) -> hash32`.
pub struct PyDB {
    source: PyObject,
}

/// Codes kept at most by [`code_cache`] (it starts again when full).
const CODE_CACHE_LIMIT: usize = 4096;

/// Analysed code by code hash, shared by every engine of the process: code never changes
/// under its hash (the caller vouches for the hash: py-evm's account field, whose code the
/// node's store checks against it on every read).
fn code_cache() -> &'static Mutex<HashMap<B256, Bytecode>> {
    static CACHE: OnceLock<Mutex<HashMap<B256, Bytecode>>> = OnceLock::new();
    CACHE.get_or_init(|| Mutex::new(HashMap::new()))
}

fn u256(b: &[u8]) -> U256 {
    U256::from_be_slice(b)
}

fn address(b: &[u8]) -> PyResult<Address> {
    if b.len() != 20 {
        return Err(PyValueError::new_err(format!(
            "an address is 20 bytes, not {}",
            b.len()
        )));
    }
    Ok(Address::from_slice(b))
}

impl DatabaseRef for PyDB {
    type Error = DbErr;

    fn basic_ref(&self, a: Address) -> Result<Option<AccountInfo>, DbErr> {
        Python::with_gil(|py| {
            let r = self
                .source
                .call_method1(py, "account", (PyBytes::new_bound(py, a.as_slice()),))
                .map_err(|e| DbErr(e.to_string()))?;
            if r.is_none(py) {
                return Ok(None);
            }
            let (bal, nonce, hash): (Vec<u8>, u64, Vec<u8>) =
                r.extract(py).map_err(|e| DbErr(e.to_string()))?;
            if hash.len() != 32 {
                return Err(DbErr(format!(
                    "a code hash is 32 bytes, not {}",
                    hash.len()
                )));
            }
            let code_hash = B256::from_slice(&hash);
            if code_hash == KECCAK_EMPTY {
                return Ok(Some(AccountInfo::new(
                    u256(&bal),
                    nonce,
                    code_hash,
                    Bytecode::new(),
                )));
            }
            let cached = code_cache()
                .lock()
                .map_err(|e| DbErr(e.to_string()))?
                .get(&code_hash)
                .cloned();
            let bytecode = match cached {
                Some(bc) => bc,
                None => {
                    let code: Vec<u8> = self
                        .source
                        .call_method1(py, "code", (PyBytes::new_bound(py, a.as_slice()),))
                        .and_then(|c| c.extract(py))
                        .map_err(|e| DbErr(e.to_string()))?;
                    // analysed once here, not at every call frame
                    let bc = match Bytecode::new_raw(Bytes::from(code)) {
                        bc @ Bytecode::LegacyRaw(_) => revm::interpreter::analysis::to_analysed(bc),
                        other => other,
                    };
                    let mut cache = code_cache().lock().map_err(|e| DbErr(e.to_string()))?;
                    if cache.len() >= CODE_CACHE_LIMIT {
                        cache.clear();
                    }
                    cache.insert(code_hash, bc.clone());
                    bc
                }
            };
            Ok(Some(AccountInfo::new(
                u256(&bal),
                nonce,
                code_hash,
                bytecode,
            )))
        })
    }

    fn code_by_hash_ref(&self, h: B256) -> Result<Bytecode, DbErr> {
        // every account's code comes with it from `basic_ref`
        Err(DbErr(format!("code {h} was not loaded with its account")))
    }

    fn storage_ref(&self, a: Address, slot: U256) -> Result<U256, DbErr> {
        Python::with_gil(|py| {
            let r = self
                .source
                .call_method1(
                    py,
                    "storage",
                    (
                        PyBytes::new_bound(py, a.as_slice()),
                        PyBytes::new_bound(py, &slot.to_be_bytes::<32>()),
                    ),
                )
                .map_err(|e| DbErr(e.to_string()))?;
            let v: Vec<u8> = r.extract(py).map_err(|e| DbErr(e.to_string()))?;
            Ok(u256(&v))
        })
    }

    fn block_hash_ref(&self, n: u64) -> Result<B256, DbErr> {
        Python::with_gil(|py| {
            let r = self
                .source
                .call_method1(py, "block_hash", (n,))
                .map_err(|e| DbErr(e.to_string()))?;
            let v: Vec<u8> = r.extract(py).map_err(|e| DbErr(e.to_string()))?;
            if v.len() != 32 {
                return Err(DbErr(format!(
                    "block_hash({n}) gave {} bytes, not 32",
                    v.len()
                )));
            }
            Ok(B256::from_slice(&v))
        })
    }
}

/// What a block's transactions changed in one account since the last `take_changes`.
#[derive(Default)]
struct Dirty {
    /// its storage was wiped (self-destructed, or created) after the last take
    cleared: bool,
    /// its code changed (a creation, an EIP-7702 delegation)
    code: bool,
    slots: HashSet<U256>,
}

/// The revm executor of one block (or of calls on one state): a state cache over a Python
/// state source, the block environment, and the changes not yet taken. Its methods hold the
/// GIL throughout; PyO3's borrow check refuses a second caller while one runs.
#[pyclass]
pub struct Engine {
    db: CacheDB<PyDB>,
    chain_id: u64,
    spec: SpecId,
    block: BlockEnv,
    dirty: HashMap<Address, Dirty>,
}

fn spec_of(name: &str) -> PyResult<SpecId> {
    Ok(match name {
        "CANCUN" => SpecId::CANCUN,
        "PRAGUE" => SpecId::PRAGUE,
        _ => {
            return Err(PyValueError::new_err(format!(
                "unknown fork {name}: CANCUN or PRAGUE"
            )))
        }
    })
}

/// One EIP-7702 authorization, its authority recovered by the caller (None: invalid).
type PyAuthorization = (Option<Vec<u8>>, Vec<u8>, Vec<u8>, u64);

impl Engine {
    /// Run `tx` in this engine's block on its state cache; nothing is committed. Errors:
    /// ValueError("invalid: ...") when it cannot start, RuntimeError when revm failed (the
    /// state source raised).
    fn execute(&mut self, tx: TxEnv) -> PyResult<ResultAndState> {
        let chain_id = self.chain_id;
        let mut evm = Evm::builder()
            .with_db(&mut self.db)
            .with_spec_id(self.spec)
            .modify_cfg_env(|c| c.chain_id = chain_id)
            .with_block_env(self.block.clone())
            .with_tx_env(tx)
            .build();
        let out = evm.transact();
        drop(evm);
        out.map_err(|e| match e {
            EVMError::Transaction(e) => PyValueError::new_err(format!("invalid: {e}")),
            EVMError::Header(e) => PyValueError::new_err(format!("invalid: {e}")),
            e => PyRuntimeError::new_err(format!("revm failed: {e}")),
        })
    }
}

#[pymethods]
impl Engine {
    /// An engine over the state source `source` for EIP-155 `chain_id` under `spec`
    /// ("PRAGUE" or "CANCUN"). Raises ValueError for another fork name.
    #[new]
    fn new(source: PyObject, chain_id: u64, spec: &str) -> PyResult<Self> {
        Ok(Engine {
            db: CacheDB::new(PyDB { source }),
            chain_id,
            spec: spec_of(spec)?,
            block: BlockEnv::default(),
            dirty: HashMap::new(),
        })
    }

    /// A new engine over `source` with a copy of this one's state cache (accounts and their
    /// storage, code, block hashes) and block environment: for calls on the state this
    /// engine's transactions left, without reading again what it has read. Raises
    /// ValueError when changes are not taken yet (a block half done).
    fn fork(&self, source: PyObject) -> PyResult<Self> {
        if !self.dirty.is_empty() {
            return Err(PyValueError::new_err("changes not taken yet"));
        }
        let mut db = CacheDB::new(PyDB { source });
        db.accounts = self.db.accounts.clone();
        db.contracts = self.db.contracts.clone();
        db.block_hashes = self.db.block_hashes.clone();
        Ok(Engine {
            db,
            chain_id: self.chain_id,
            spec: self.spec,
            block: self.block.clone(),
            dirty: HashMap::new(),
        })
    }

    /// Forget everything cached and every change not taken; read `source` from now on.
    fn reset(&mut self, source: PyObject) {
        self.db = CacheDB::new(PyDB { source });
        self.dirty.clear();
    }

    /// Forget what is cached of each 20-byte address in `addresses` (account and storage;
    /// the next read goes to the source): for accounts the source's state changed behind
    /// this engine (a block's system updates: EIP-4788, EIP-2935). Raises ValueError for an
    /// address that is not 20 bytes, or when changes are not taken yet.
    fn forget(&mut self, addresses: Vec<Vec<u8>>) -> PyResult<()> {
        if !self.dirty.is_empty() {
            return Err(PyValueError::new_err("changes not taken yet"));
        }
        for a in addresses {
            self.db.accounts.remove(&address(&a)?);
        }
        Ok(())
    }

    /// How many entries the state cache holds: accounts plus storage slots.
    fn cached(&self) -> usize {
        self.db.accounts.len() + self.db.accounts.values().map(|a| a.storage.len()).sum::<usize>()
    }

    /// The block environment: number, coinbase (20 bytes), timestamp (s), base fee (wei),
    /// gas limit, prevrandao (32 bytes), excess blob gas (EIP-4844).
    #[pyo3(signature = (number, coinbase, timestamp, basefee, gas_limit, prevrandao, excess_blob_gas = 0))]
    #[allow(clippy::too_many_arguments)]
    fn set_block(
        &mut self,
        number: u64,
        coinbase: &[u8],
        timestamp: u64,
        basefee: u64,
        gas_limit: u64,
        prevrandao: &[u8],
        excess_blob_gas: u64,
    ) -> PyResult<()> {
        if prevrandao.len() != 32 {
            return Err(PyValueError::new_err("prevrandao is 32 bytes"));
        }
        self.block = BlockEnv {
            number: U256::from(number),
            coinbase: address(coinbase)?,
            timestamp: U256::from(timestamp),
            gas_limit: U256::from(gas_limit),
            basefee: U256::from(basefee),
            difficulty: U256::ZERO,
            prevrandao: Some(B256::from_slice(prevrandao)),
            blob_excess_gas_and_price: Some(BlobExcessGasAndPrice::new(
                excess_blob_gas,
                self.spec >= SpecId::PRAGUE,
            )),
        };
        Ok(())
    }

    /// Execute one signed transaction (its sender recovered by the caller) and keep its
    /// changes. `gas_price` is the legacy/EIP-2930 gas price or the EIP-1559 max fee,
    /// `priority_fee` None for legacy/EIP-2930; `access_list` [(addr20, [slot32])];
    /// `authorizations` None (not a set-code transaction) or [(authority20 | None, chain_id32,
    /// address20, nonce)].
    ///
    /// Returns (success, gas_used, output, logs [(addr20, [topic32], data)], halt
    /// reason | None). Raises ValueError("invalid: ...") when the transaction does not
    /// apply (nothing changes), RuntimeError when the state source failed.
    #[pyo3(signature = (caller, to, data, value, gas_limit, gas_price, priority_fee, nonce, access_list, authorizations = None))]
    #[allow(clippy::too_many_arguments)]
    fn transact<'py>(
        &mut self,
        py: Python<'py>,
        caller: &[u8],
        to: Option<&[u8]>,
        data: &[u8],
        value: &[u8],
        gas_limit: u64,
        gas_price: u128,
        priority_fee: Option<u128>,
        nonce: u64,
        access_list: Vec<(Vec<u8>, Vec<Vec<u8>>)>,
        authorizations: Option<Vec<PyAuthorization>>,
    ) -> PyResult<Bound<'py, PyTuple>> {
        let caller = address(caller)?;
        let kind = match to {
            Some(t) => TxKind::Call(address(t)?),
            None => TxKind::Create,
        };
        let mut items = Vec::with_capacity(access_list.len());
        for (a, slots) in &access_list {
            items.push(AccessListItem {
                address: address(a)?,
                storage_keys: slots.iter().map(|s| B256::from(u256(s))).collect(),
            });
        }
        let auth_list = match authorizations {
            None => None,
            Some(list) => {
                let mut out = Vec::with_capacity(list.len());
                for (authority, chain_id, target, auth_nonce) in list {
                    let authority = match authority {
                        Some(a) => RecoveredAuthority::Valid(address(&a)?),
                        None => RecoveredAuthority::Invalid,
                    };
                    let inner = Authorization {
                        chain_id: u256(&chain_id),
                        address: address(&target)?,
                        nonce: auth_nonce,
                    };
                    out.push(RecoveredAuthorization::new_unchecked(inner, authority));
                }
                Some(AuthorizationList::Recovered(out))
            }
        };
        let rs = self.execute(TxEnv {
            caller,
            transact_to: kind,
            data: Bytes::copy_from_slice(data),
            value: u256(value),
            gas_limit,
            gas_price: U256::from(gas_price),
            gas_priority_fee: priority_fee.map(U256::from),
            nonce: Some(nonce),
            chain_id: Some(self.chain_id),
            access_list: items,
            authorization_list: auth_list,
            ..TxEnv::default()
        })?;
        let (ok, gas_used, output, logs, halt) = match &rs.result {
            ExecutionResult::Success {
                gas_used,
                logs,
                output,
                ..
            } => (
                true,
                *gas_used,
                output.data().clone(),
                logs.as_slice(),
                None,
            ),
            ExecutionResult::Revert { gas_used, output } => {
                (false, *gas_used, output.clone(), &[][..], None)
            }
            ExecutionResult::Halt { gas_used, reason } => (
                false,
                *gas_used,
                Bytes::new(),
                &[][..],
                Some(format!("{reason:?}")),
            ),
        };
        let pylogs = PyList::empty_bound(py);
        for l in logs {
            let topics = PyList::empty_bound(py);
            for t in l.topics() {
                topics.append(PyBytes::new_bound(py, t.as_slice()))?;
            }
            pylogs.append((
                PyBytes::new_bound(py, l.address.as_slice()),
                topics,
                PyBytes::new_bound(py, l.data.data.as_ref()),
            ))?;
        }
        for (addr, acc) in rs.state.iter() {
            if !acc.is_touched() {
                continue;
            }
            let entry = self.dirty.entry(*addr).or_default();
            if acc.is_selfdestructed() || acc.is_created() {
                entry.cleared = true;
                entry.slots.clear();
            }
            let before = self.db.accounts.get(addr).map(|a| a.info.code_hash);
            if before != Some(acc.info.code_hash) {
                entry.code = true;
            }
            for (k, _) in acc.changed_storage_slots() {
                entry.slots.insert(*k);
            }
        }
        self.db.commit(rs.state);
        let result: [PyObject; 5] = [
            ok.into_py(py),
            gas_used.into_py(py),
            PyBytes::new_bound(py, output.as_ref()).into_py(py),
            pylogs.into_py(py),
            halt.into_py(py),
        ];
        Ok(PyTuple::new_bound(py, result))
    }

    /// Run an unsigned call from `caller` (eth_call): no nonce check, gas price zero (set
    /// the block's base fee to zero), `value` 32 bytes, `to` None creates; nothing is kept
    /// (the state cache only holds what was read).
    ///
    /// Returns (success, gas spent before refunds, output (the revert data when it
    /// reverted), halt reason | None). Raises ValueError("invalid: ...") when it cannot
    /// start (a caller with code: EIP-3607, funds for `value`, intrinsic gas),
    /// RuntimeError when the state source failed.
    #[pyo3(signature = (caller, to, data, value, gas_limit))]
    fn call<'py>(
        &mut self,
        py: Python<'py>,
        caller: &[u8],
        to: Option<&[u8]>,
        data: &[u8],
        value: &[u8],
        gas_limit: u64,
    ) -> PyResult<Bound<'py, PyTuple>> {
        let caller = address(caller)?;
        let kind = match to {
            Some(t) => TxKind::Call(address(t)?),
            None => TxKind::Create,
        };
        let result = self
            .execute(TxEnv {
                caller,
                transact_to: kind,
                data: Bytes::copy_from_slice(data),
                value: u256(value),
                gas_limit,
                gas_price: U256::ZERO,
                gas_priority_fee: None,
                nonce: None,
                chain_id: Some(self.chain_id),
                ..TxEnv::default()
            })?
            .result;
        let (ok, spent, output, halt) = match result {
            ExecutionResult::Success {
                gas_used,
                gas_refunded,
                output,
                ..
            } => (true, gas_used + gas_refunded, output.into_data(), None),
            ExecutionResult::Revert { gas_used, output } => (false, gas_used, output, None),
            ExecutionResult::Halt { gas_used, reason } => {
                (false, gas_used, Bytes::new(), Some(format!("{reason:?}")))
            }
        };
        let result: [PyObject; 4] = [
            ok.into_py(py),
            spent.into_py(py),
            PyBytes::new_bound(py, output.as_ref()).into_py(py),
            halt.into_py(py),
        ];
        Ok(PyTuple::new_bound(py, result))
    }

    /// The accounts changed since the last call, and forget them (the cache stays: the
    /// caller writes these into its state, which then equals the cache). Each is
    /// (addr20, balance32, nonce, code | None (unchanged), wiped, [(slot32, value32)]):
    /// `wiped` means delete the account (storage included) before writing the rest; an
    /// account left empty (EIP-161: no nonce, balance or code) comes back wiped with
    /// balance 0, nonce 0 and no code.
    fn take_changes<'py>(&mut self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let out = PyList::empty_bound(py);
        let mut dirty: Vec<(Address, Dirty)> = self.dirty.drain().collect();
        dirty.sort_by(|a, b| a.0.cmp(&b.0));
        for (addr, d) in dirty {
            let Some(acc) = self.db.accounts.get(&addr) else {
                return Err(PyRuntimeError::new_err(format!(
                    "changed account {addr} not cached"
                )));
            };
            let gone =
                matches!(acc.account_state, AccountState::NotExisting) || acc.info.is_empty();
            let code: PyObject = if d.code && !gone {
                let bytes = match &acc.info.code {
                    Some(c) => c.original_bytes(),
                    None => Bytes::new(),
                };
                PyBytes::new_bound(py, bytes.as_ref()).into_py(py)
            } else {
                py.None()
            };
            let slots = PyList::empty_bound(py);
            if !gone {
                for k in &d.slots {
                    let v = acc.storage.get(k).copied().unwrap_or(U256::ZERO);
                    slots.append((
                        PyBytes::new_bound(py, &k.to_be_bytes::<32>()),
                        PyBytes::new_bound(py, &v.to_be_bytes::<32>()),
                    ))?;
                }
            }
            out.append((
                PyBytes::new_bound(py, addr.as_slice()),
                PyBytes::new_bound(py, &acc.info.balance.to_be_bytes::<32>()),
                acc.info.nonce,
                code,
                d.cleared || gone,
                slots,
            ))?;
        }
        Ok(out)
    }
}

/// The `collective_revm` Python module: the [`Engine`] class and revm's version.
#[pymodule]
fn collective_revm(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Engine>()?;
    m.add_class::<front::ConstantAnswers>()?;
    m.add_function(wrap_pyfunction!(front::plain_post, m)?)?;
    m.add_function(wrap_pyfunction!(front::plain_call, m)?)?;
    m.add("REVM_VERSION", "19.4.0")?;
    Ok(())
}
