// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ConsentRegistry} from "./ConsentRegistry.sol";

/// @title ErasureRegistry
/// @notice Erasure requests (GDPR Art. 17) of a subject identity to one organization, and the
///         organization's confirmation. The identity's current DID owner requests directly, or
///         signs an EIP-712 `ErasureRequest` (the owner or a valid `sigAuth` delegate, e.g. a
///         guardian) that any admitted account relays. From the request's block every use by
///         that organization for that identity is refused (`DataUsageLog.UseAfterErasureRequest`)
///         and none of the identity's consents with it covers any more (`isCovered` false): one
///         storage read per use. The organization answers with `confirmErasure` and a hash of
///         its erasure evidence, due `erasurePeriod` seconds after the request (GDPR Art. 12(3):
///         one month). A late confirmation is still accepted (and shows as late to the audit).
/// @dev The request is final for the (identity, organization) pair: a subject who wants to deal
///      with the organization again uses a new pairwise identity (collective/client/subjects.py),
///      which the erased records cannot be linked to. So each pair is requested at most once,
///      which is also the signed request's replay protection (with its deadline and the EIP-712
///      domain's chainId and verifying contract): no nonce, no extra storage write.
///      The period is set by a consortium admin (not a constructor argument, so deployment is
///      unchanged) within [MIN_ERASURE_PERIOD, MAX_ERASURE_PERIOD]; each request stores its own
///      due time, so a change never moves a pending deadline.
///      Storage: an identity's first request is packed into one slot per identity (organization
///      and three 32-bit times, unix seconds until 2106), later ones (rare: a pairwise identity
///      deals with one organization) go to a per-pair slot. So one read answers "did this
///      identity ask anyone to erase?": a use checks one slot, and a disclosure checks its
///      discloser and its recipient with the same one read.
abstract contract ErasureRegistry is ConsentRegistry {
    /// @notice Stored state of one (identity, organization) erasure (one slot).
    struct Erasure {
        uint64 requestedAt; // unix seconds of the request; 0 = never requested
        uint64 dueAt; // unix seconds by which the organization should confirm
        uint64 confirmedAt; // unix seconds of the confirmation; 0 = not confirmed
    }

    /// @notice An erasure request (also the EIP-712 `ErasureRequest` struct when signed).
    struct ErasureRequest {
        address identity;
        address organization;
        uint64 deadline; // unix seconds after which the signature cannot be relayed
    }

    bytes32 public constant ERASURE_TYPEHASH =
        keccak256("ErasureRequest(address identity,address organization,uint64 deadline)");
    /// @notice The default period to confirm (30 days, GDPR Art. 12(3) "one month").
    uint64 public constant DEFAULT_ERASURE_PERIOD = 30 days;
    /// @notice The shortest period an admin may set.
    uint64 public constant MIN_ERASURE_PERIOD = 1 days;
    /// @notice The longest period an admin may set (one month extended by two, Art. 12(3)).
    uint64 public constant MAX_ERASURE_PERIOD = 90 days;
    bytes32 private constant _SIG_AUTH_TYPE = "sigAuth";

    uint256 private constant _TIMES_PAST_2106 = 1 << 255;
    uint64 private _erasurePeriod;
    /// @dev identity => its first request: organization (bits 0-159), requestedAt (160-191),
    ///      dueAt (192-223), confirmedAt (224-255); 0 if it never requested.
    mapping(address identity => uint256) private _firstErasure;
    /// @dev identity => organization => request, for every request after the identity's first.
    mapping(address identity => mapping(address organization => Erasure)) private _laterErasures;

    /// @notice `identity` asked `organization` to erase its data; confirm by `dueAt` (unix s).
    ///         `agent` is the owner or delegate who authorized it.
    event ErasureRequested(address indexed identity, address indexed organization, uint64 dueAt, address agent);
    /// @notice `organization` confirmed the erasure for `identity`; `evidenceHash` is the hash
    ///         of its erasure evidence (kept off chain). `late` if after the due time.
    event ErasureConfirmed(address indexed identity, address indexed organization, bytes32 evidenceHash, bool late);
    /// @notice A consortium admin set the period to confirm new requests (seconds).
    event ErasurePeriodSet(uint64 period);

    /// @notice The pair was already asked to erase (once per pair; also stops replays).
    error ErasureAlreadyRequested(address identity, address organization);
    /// @notice No erasure was requested of the caller for `identity`.
    error NoErasureRequest(address identity, address organization);
    /// @notice The erasure was already confirmed.
    error ErasureAlreadyConfirmed(address identity, address organization);
    /// @notice The period (seconds) is outside [MIN_ERASURE_PERIOD, MAX_ERASURE_PERIOD].
    error ErasurePeriodOutOfRange(uint64 period);
    /// @notice Only a consortium admin sets the period.
    error NotConsortiumAdmin(address caller);

    // ------------------------------------------------------------------ request

    /// @notice Ask `organization` to erase `identity`'s data (the identity's owner only).
    function requestErasure(address identity, address organization) external {
        _onlyOwner(identity, msg.sender);
        _storeRequest(identity, organization, msg.sender);
    }

    /// @notice Relay an erasure request signed (EIP-712) by the identity's owner or a valid
    ///         `sigAuth` delegate. The relayer must be an admitted, active account.
    function requestErasureSigned(ErasureRequest calldata q, uint8 v, bytes32 r, bytes32 s) external {
        _requireActive(msg.sender);
        if (block.timestamp > q.deadline) revert SignatureExpired(q.deadline);
        address owner = _identities[q.identity].owner;
        if (owner == DEACTIVATED) revert IdentityDeactivated(q.identity);
        bytes32 structHash = keccak256(abi.encode(ERASURE_TYPEHASH, q.identity, q.organization, q.deadline));
        address signer = _tryRecover(keccak256(abi.encodePacked("\x19\x01", DOMAIN_SEPARATOR(), structHash)), v, r, s);
        if (signer == address(0)) revert InvalidSignature();
        if (signer != (owner == address(0) ? q.identity : owner) && !validDelegate(q.identity, _SIG_AUTH_TYPE, signer))
        {
            revert SignerNotAuthorized(q.identity, signer);
        }
        _storeRequest(q.identity, q.organization, signer);
    }

    // ------------------------------------------------------------------ answer

    /// @notice Confirm, as the organization asked, that `identity`'s data is erased (its
    ///         per-subject secret destroyed); `evidenceHash` hashes the evidence kept off chain.
    function confirmErasure(address identity, bytes32 evidenceHash) external {
        Erasure memory e = _erasureOf(identity, msg.sender);
        if (e.requestedAt == 0) revert NoErasureRequest(identity, msg.sender);
        if (e.confirmedAt != 0) revert ErasureAlreadyConfirmed(identity, msg.sender);
        uint256 first = _firstErasure[identity];
        if (address(uint160(first)) == msg.sender) {
            uint256 confirmedAt = block.timestamp > type(uint32).max ? type(uint32).max : block.timestamp;
            _firstErasure[identity] = first | (confirmedAt << 224);
        } else {
            _laterErasures[identity][msg.sender].confirmedAt = uint64(block.timestamp);
        }
        emit ErasureConfirmed(identity, msg.sender, evidenceHash, block.timestamp > e.dueAt);
    }

    /// @notice Set the period (seconds) to confirm requests made from now on (consortium admin).
    function setErasurePeriod(uint64 period) external {
        if (!accountRules.isAdmin(msg.sender)) revert NotConsortiumAdmin(msg.sender);
        if (period < MIN_ERASURE_PERIOD || period > MAX_ERASURE_PERIOD) revert ErasurePeriodOutOfRange(period);
        _erasurePeriod = period;
        emit ErasurePeriodSet(period);
    }

    // ------------------------------------------------------------------ views

    /// @notice The period (seconds) a new request gives the organization to confirm.
    function erasurePeriod() public view returns (uint64) {
        uint64 period = _erasurePeriod;
        return period == 0 ? DEFAULT_ERASURE_PERIOD : period;
    }

    /// @notice The stored erasure of (identity, organization) (all zero if never requested).
    function getErasure(address identity, address organization) external view returns (Erasure memory) {
        return _erasureOf(identity, organization);
    }

    // ------------------------------------------------------------------ internals

    /// @dev The hook of ConsentRegistry.isCovered and DataUsageLog: one storage read for an
    ///      identity that never asked anyone to erase, or whose first request is to `organization`.
    function _erasureRequested(address identity, address organization) internal view override returns (bool) {
        uint256 first = _firstErasure[identity];
        if (first == 0) return false;
        if (address(uint160(first)) == organization) return true;
        return _laterErasures[identity][organization].requestedAt != 0;
    }

    /// @dev The hook of DisclosureLog: which of `a`, `b` (checked in that order) `identity`
    ///      asked to erase, or address(0). One read when it asked nobody.
    function _erasureRequestedOfEither(address identity, address a, address b)
        internal
        view
        override
        returns (address)
    {
        if (_firstErasure[identity] == 0) return address(0);
        if (_erasureRequested(identity, a)) return a;
        if (_erasureRequested(identity, b)) return b;
        return address(0);
    }

    /// @dev The stored request of (identity, organization), all zero if none.
    function _erasureOf(address identity, address organization) private view returns (Erasure memory) {
        uint256 first = _firstErasure[identity];
        if (first != 0 && address(uint160(first)) == organization) {
            return Erasure(uint64(uint32(first >> 160)), uint64(uint32(first >> 192)), uint64(first >> 224));
        }
        if (first == 0) return Erasure(0, 0, 0);
        return _laterErasures[identity][organization];
    }

    function _storeRequest(address identity, address organization, address agent) private {
        uint256 first = _firstErasure[identity];
        uint64 due = uint64(block.timestamp) + erasurePeriod();
        if (first == 0 && due <= type(uint32).max) {
            _firstErasure[identity] = uint160(organization) | (block.timestamp << 160) | (uint256(due) << 192);
        } else {
            if (first == 0) {
                // Times past 2106 do not fit the packed slot: it holds only a marker (no
                // organization), so the one-read answer stays, and the pair's slot the request.
                _firstErasure[identity] = _TIMES_PAST_2106;
            } else if (
                address(uint160(first)) == organization || _laterErasures[identity][organization].requestedAt != 0
            ) {
                revert ErasureAlreadyRequested(identity, organization);
            }
            _laterErasures[identity][organization] = Erasure(uint64(block.timestamp), due, 0);
        }
        emit ErasureRequested(identity, organization, due, agent);
    }
}
