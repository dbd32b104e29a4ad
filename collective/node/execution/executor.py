"""The transaction executor: py-evm's Prague executor minus its eager debug strings.

Mirrors ``eth/vm/forks/cancun/state.py`` (``CancunTransactionExecutor.build_evm_message``),
``eth/vm/forks/berlin/state.py`` (``BerlinTransactionExecutor.build_computation``),
``eth/vm/forks/frontier/state.py`` (``FrontierTransactionExecutor.build_computation``,
``finalize_computation``), ``eth/vm/forks/spurious_dragon/state.py``
(``SpuriousDragonTransactionExecutor.finalize_computation``) and
``eth/vm/forks/spurious_dragon/_utils.py`` (``collect_touched_accounts``) of py-evm 0.12.1b1.

py-evm formats a debug line per transaction (hex of the whole contract code, a keccak of the
calldata) even when debug logging is off; these steps are py-evm's minus those lines. The
touched accounts are built as ``collect_touched_accounts`` builds them (the same set),
directly when the transaction made no call and self-destructed nothing.

Fingerprints of the upstream methods overridden here: :mod:`.upstream`.
"""

from __future__ import annotations

from typing import Any

from eth._utils.address import generate_contract_address
from eth.abc import ComputationAPI, MessageAPI, SignedTransactionAPI
from eth.constants import CREATE_CONTRACT_ADDRESS
from eth.exceptions import ContractCreationCollision
from eth.vm.forks.cancun.constants import BLOB_TX_TYPE
from eth.vm.forks.prague.state import PragueTransactionExecutor
from eth.vm.forks.spurious_dragon._utils import THREE as _THREE
from eth.vm.forks.spurious_dragon._utils import collect_touched_accounts
from eth.vm.message import Message
from eth_typing import Address
from eth_utils.hexadecimal import encode_hex


class NodeExecutor(PragueTransactionExecutor):
    """Prague's transaction executor without the eagerly formatted debug line."""

    def build_evm_message(self, transaction: SignedTransactionAPI) -> MessageAPI:
        """Buy the gas, bump the sender's nonce and build the message (py-evm's
        ``CancunTransactionExecutor.build_evm_message``, minus the debug2 f-string). Returns
        the message; raises py-evm's errors for an unaffordable or malformed transaction."""
        state = self.vm_state
        london_gas_fee = transaction.gas * state.get_gas_price(transaction)
        blob_data_fee = (
            self.calc_data_fee(transaction)  # type: ignore[arg-type]
            if transaction.type_id == BLOB_TX_TYPE
            else 0
        )
        sender = transaction.sender
        state.delta_balance(sender, -1 * (london_gas_fee + blob_data_fee))
        state.increment_nonce(sender)
        msg_refund = self.calc_message_refund(transaction)
        message_gas = transaction.gas - transaction.intrinsic_gas
        if transaction.to == CREATE_CONTRACT_ADDRESS:
            contract_address = generate_contract_address(sender, state.get_nonce(sender) - 1)
            data = b""
            code = transaction.data
            is_delegation = False
        else:
            contract_address = None
            data = transaction.data
            code, delegation_address = self.get_code_at_address(transaction.to)
            is_delegation = delegation_address is not None
        return Message(
            gas=message_gas,
            to=transaction.to,
            sender=sender,
            value=transaction.value,
            data=data,
            code=code,
            create_address=contract_address,  # type: ignore[arg-type]
            refund=msg_refund,
            is_delegation=is_delegation,
        )

    def build_computation(
        self, message: MessageAPI, transaction: SignedTransactionAPI
    ) -> ComputationAPI:
        """Warm the EIP-2929/2930 addresses and slots, then run the message (py-evm's
        ``BerlinTransactionExecutor.build_computation``, then Frontier's, minus the debug
        line). Returns the computation; a create into an occupied address comes back with
        ``ContractCreationCollision`` as its error."""
        state = self.vm_state
        state.mark_address_warm(transaction.sender)
        state.mark_address_warm(message.storage_address)
        for address, slots in transaction.access_list:
            state.mark_address_warm(address)
            for slot in slots:
                state.mark_storage_warm(address, slot)
        transaction_context = state.get_transaction_context(transaction)
        if message.is_create:
            if state.has_code_or_nonce(message.storage_address):
                computation = state.get_computation(message, transaction_context)
                computation.error = ContractCreationCollision(
                    "Address collision while creating contract: "
                    f"{encode_hex(message.storage_address)}"
                )
                return computation
            return state.computation_class.apply_create_message(state, message, transaction_context)
        return state.computation_class.apply_message(state, message, transaction_context)

    def finalize_computation(
        self, transaction: SignedTransactionAPI, computation: ComputationAPI
    ) -> ComputationAPI:
        """Refund, pay the tip, delete self-destructed and (EIP-161) touched empty accounts
        (py-evm's ``SpuriousDragonTransactionExecutor.finalize_computation`` around
        Frontier's, with Prague's EIP-7623 data floor, minus the debug lines: an encode_hex or
        two per transaction even with debug off). Returns ``computation``."""
        state = self.vm_state
        gas_price = state.get_transaction_context(transaction).gas_price
        gas_remaining = computation.get_gas_remaining()
        gas_used = transaction.gas - gas_remaining
        gas_refund = self.calculate_gas_refund(computation, gas_used)
        data_floor_gas = computation.data_floor_gas = self.calc_data_floor_gas(
            transaction, gas_used, gas_refund
        )
        gas_refund_amount = (gas_refund + gas_remaining - data_floor_gas) * gas_price
        if gas_refund_amount:
            state.delta_balance(computation.msg.sender, gas_refund_amount)
        gas_used = transaction.gas - gas_remaining - gas_refund + data_floor_gas
        transaction_fee = gas_used * state.get_tip(transaction)
        state.delta_balance(state.coinbase, transaction_fee)
        for account in computation.get_accounts_for_deletion():
            state.delete_account(account)
        # EIP-161 state clearing
        for account in _touched_accounts(computation):
            if state.account_exists(account) and state.account_is_empty(account):
                state.delete_account(account)
        return computation


def _touched_accounts(computation: Any) -> set[Address]:
    """py-evm's ``collect_touched_accounts(computation)`` (the same set, built in the same
    order), without the generator when nothing was self-destructed and no call was made."""
    if computation.children or computation.beneficiaries:
        touched: set[Address] = collect_touched_accounts(computation)
        return touched
    # the coinbase; no beneficiaries (``get_self_destruct_beneficiaries`` of no children and
    # no own is empty); the recipient, unless a create (or an error, bar the RIPEMD160 case)
    to = computation.msg.to
    if to == CREATE_CONTRACT_ADDRESS or (computation.is_error and to != _THREE):
        return {computation.state.coinbase}
    return {computation.state.coinbase, to}


__all__ = ["NodeExecutor"]
