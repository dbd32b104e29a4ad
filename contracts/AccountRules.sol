// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title AccountRules
/// @notice The consortium's membership list and its consensus validator set. Admins admit,
///         suspend, reinstate and remove organization accounts; the oversight board (if set)
///         may suspend and reinstate, and alone sets each organization's validator (a
///         CometBFT ed25519 key and voting power).
///         The roles are kept apart: an admin is never an organization account (so no admin
///         can transact past its own suspension), and only the board lifts a suspension the
///         board imposed. Once set, the board is changed only by the board itself.
/// @dev Implements Hyperledger Besu's account-permissioning interface
///      (`transactionAllowed`), so the same contract can govern a Besu network; the Collective
///      node consults it before accepting a transaction. Every change is an event, so the
///      membership at any block can be rebuilt from logs alone. A validator's effective power
///      is its recorded power while its organization is active and 0 while it is suspended;
///      every change of an effective power is one `ValidatorPowerChanged` event, which the
///      consortium's ABCI application turns into a CometBFT validator update.
contract AccountRules {
    /// @notice Lifecycle of an account: never admitted (or removed), active, suspended.
    enum Status {
        None,
        Active,
        Suspended
    }

    /// @notice True for consortium admins.
    mapping(address => bool) public isAdmin;
    /// @notice Number of admins (never drops to zero).
    uint256 public adminCount;
    /// @notice Status of every account.
    mapping(address => Status) public statusOf;
    /// @notice The oversight board contract allowed to suspend and reinstate (zero if none).
    address public board;
    /// @notice Was the account's current suspension imposed by the board? Then only the board lifts it.
    mapping(address => bool) public suspendedByBoard;

    /// @notice The highest voting power one validator may have: CometBFT caps the total at
    ///         2**60 - 1 (MaxTotalVotingPower), so a million validators at this power still fit.
    uint64 public constant MAX_POWER = 1e12;

    /// @dev An organization's validator: its ed25519 public key and recorded voting power.
    struct Validator {
        bytes32 pubKey;
        uint64 power;
    }

    address[] private _accounts;
    mapping(address => uint256) private _accountIndex; // 1-based position in _accounts
    mapping(address => Validator) private _validators;
    mapping(bytes32 => address) private _keyOwner;
    address[] private _validatorOrgs;
    mapping(address => uint256) private _validatorIndex; // 1-based position in _validatorOrgs

    /// @notice An admin was added.
    event AdminAdded(address indexed admin, address indexed by);
    /// @notice An admin was removed.
    event AdminRemoved(address indexed admin, address indexed by);
    /// @notice An account was admitted to the consortium.
    event AccountAdmitted(address indexed account, address indexed by);
    /// @notice An account was suspended: it may no longer transact or record data uses.
    event AccountSuspended(address indexed account, address indexed by);
    /// @notice A suspended account was reinstated.
    event AccountReinstated(address indexed account, address indexed by);
    /// @notice An account was removed from the consortium.
    event AccountRemoved(address indexed account, address indexed by);
    /// @notice The oversight board address changed.
    event BoardChanged(address indexed board, address indexed by);
    /// @notice The effective voting power of `organization`'s validator, whose ed25519 public
    ///         key is `pubKey`, is now `power` (0: the validator left the set).
    event ValidatorPowerChanged(address indexed organization, bytes32 indexed pubKey, uint64 power);

    /// @notice The caller is not an admin.
    error NotAdmin(address caller);
    /// @notice The caller is neither an admin nor the oversight board.
    error NotAdminOrBoard(address caller);
    /// @notice The zero address is not a valid account.
    error ZeroAddress();
    /// @notice The account is already admitted (active or suspended).
    error AlreadyAdmitted(address account);
    /// @notice The account is not admitted.
    error NotAdmitted(address account);
    /// @notice The account is not active (it is suspended or not admitted).
    error NotActive(address account);
    /// @notice The account is not suspended.
    error NotSuspended(address account);
    /// @notice The address is already an admin.
    error AlreadyAdmin(address account);
    /// @notice The last admin cannot be removed.
    error LastAdmin();
    /// @notice An admin cannot be an organization account, nor an organization an admin.
    error RoleConflict(address account);
    /// @notice The board suspended the account: only the board can reinstate or remove it.
    error BoardSuspension(address account);
    /// @notice Once a board is set, only the board itself can replace or unset it.
    error NotBoard(address caller);
    /// @notice The zero key is not a validator key.
    error ZeroKey();
    /// @notice The key is already the validator key of another organization.
    error KeyInUse(bytes32 pubKey, address organization);
    /// @notice The voting power is above MAX_POWER.
    error PowerTooHigh(uint64 power, uint64 max);
    /// @notice The organization's validator key is not `pubKey` (or it has none).
    error NotValidatorKey(address organization, bytes32 pubKey);

    modifier onlyAdmin() {
        if (!isAdmin[msg.sender]) revert NotAdmin(msg.sender);
        _;
    }

    modifier onlyAdminOrBoard() {
        if (!isAdmin[msg.sender] && msg.sender != board) revert NotAdminOrBoard(msg.sender);
        _;
    }

    /// @param admins The bootstrap admins (at least one).
    constructor(address[] memory admins) {
        if (admins.length == 0) revert LastAdmin();
        for (uint256 i = 0; i < admins.length; i++) {
            _addAdmin(admins[i]);
        }
    }

    /// @notice Besu account permissioning: may `sender` submit this transaction?
    /// @dev Admins and active accounts may transact; suspended and unknown accounts may not.
    /// @param sender The transaction's sender.
    /// @return True when the transaction is allowed.
    function transactionAllowed(
        address sender,
        address, /* target */
        uint256, /* value */
        uint256, /* gasPrice */
        uint256, /* gasLimit */
        bytes calldata /* payload */
    ) external view returns (bool) {
        return isAdmin[sender] || statusOf[sender] == Status.Active;
    }

    /// @notice Is `account` admitted and not suspended?
    function isActive(address account) external view returns (bool) {
        return statusOf[account] == Status.Active;
    }

    /// @notice The statuses of two accounts in one call (a disclosure checks its discloser and
    ///         its recipient: one call instead of two).
    function statusesOf(address a, address b) external view returns (Status, Status) {
        return (statusOf[a], statusOf[b]);
    }

    /// @notice Every account ever admitted and not removed (active or suspended).
    function accounts() external view returns (address[] memory) {
        return _accounts;
    }

    /// @notice `organization`'s validator: its key (zero if none), recorded power and effective
    ///         power (the recorded power while the organization is active, else 0).
    function validatorOf(address organization)
        external
        view
        returns (bytes32 pubKey, uint64 power, uint64 effectivePower)
    {
        Validator storage v = _validators[organization];
        return (v.pubKey, v.power, _effective(organization, v.power));
    }

    /// @notice Every organization with a validator (suspended ones included, at effective power 0),
    ///         with its key and effective power, in no fixed order.
    function validators()
        external
        view
        returns (address[] memory organizations, bytes32[] memory pubKeys, uint64[] memory effectivePowers)
    {
        uint256 n = _validatorOrgs.length;
        organizations = _validatorOrgs;
        pubKeys = new bytes32[](n);
        effectivePowers = new uint64[](n);
        for (uint256 i = 0; i < n; i++) {
            Validator storage v = _validators[organizations[i]];
            pubKeys[i] = v.pubKey;
            effectivePowers[i] = _effective(organizations[i], v.power);
        }
    }

    /// @notice Set `organization`'s validator to the ed25519 key `pubKey` at voting power `power`
    ///         (0 removes it). Only the oversight board may call this; with no board, nobody can.
    ///         Replacing a key takes the old one out (power 0) before the new one comes in.
    /// @param organization An admitted (active or suspended) organization.
    /// @param pubKey The validator's 32-byte ed25519 public key as CometBFT uses it; not one that
    ///        another organization holds. With `power` 0, the organization's current key.
    /// @param power Voting power, at most MAX_POWER; 0 removes the organization's validator.
    function setValidator(address organization, bytes32 pubKey, uint64 power) external {
        if (msg.sender != board || msg.sender == address(0)) revert NotBoard(msg.sender); // no board: nobody
        if (statusOf[organization] == Status.None) revert NotAdmitted(organization);
        Validator memory old = _validators[organization];
        if (power == 0) {
            if (old.pubKey == bytes32(0) || old.pubKey != pubKey) revert NotValidatorKey(organization, pubKey);
            _dropValidator(organization, old, statusOf[organization] == Status.Active);
            return;
        }
        if (pubKey == bytes32(0)) revert ZeroKey();
        if (power > MAX_POWER) revert PowerTooHigh(power, MAX_POWER);
        address owner = _keyOwner[pubKey];
        if (owner != address(0) && owner != organization) revert KeyInUse(pubKey, owner);
        uint64 oldEffective = _effective(organization, old.power);
        uint64 newEffective = _effective(organization, power);
        if (old.pubKey == bytes32(0)) {
            _validatorOrgs.push(organization);
            _validatorIndex[organization] = _validatorOrgs.length;
        } else if (old.pubKey != pubKey) {
            delete _keyOwner[old.pubKey];
            if (oldEffective != 0) emit ValidatorPowerChanged(organization, old.pubKey, 0);
            oldEffective = 0;
        }
        _keyOwner[pubKey] = organization;
        _validators[organization] = Validator(pubKey, power);
        if (newEffective != oldEffective) emit ValidatorPowerChanged(organization, pubKey, newEffective);
    }

    /// @notice Add a consortium admin.
    function addAdmin(address admin) external onlyAdmin {
        _addAdmin(admin);
    }

    /// @notice Remove a consortium admin (never the last one).
    function removeAdmin(address admin) external onlyAdmin {
        if (!isAdmin[admin]) revert NotAdmin(admin);
        if (adminCount == 1) revert LastAdmin();
        isAdmin[admin] = false;
        adminCount -= 1;
        emit AdminRemoved(admin, msg.sender);
    }

    /// @notice Set the oversight board contract allowed to suspend and reinstate. An admin sets
    ///         the first board; after that only the current board replaces (or unsets) itself.
    function setBoard(address newBoard) external {
        address current = board;
        if (current == address(0)) {
            if (!isAdmin[msg.sender]) revert NotAdmin(msg.sender);
        } else if (msg.sender != current) {
            revert NotBoard(msg.sender);
        }
        board = newBoard;
        emit BoardChanged(newBoard, msg.sender);
    }

    /// @notice Admit an organization (or other) account to the consortium.
    function admit(address account) external onlyAdmin {
        if (account == address(0)) revert ZeroAddress();
        if (isAdmin[account]) revert RoleConflict(account);
        if (statusOf[account] != Status.None) revert AlreadyAdmitted(account);
        statusOf[account] = Status.Active;
        _accounts.push(account);
        _accountIndex[account] = _accounts.length;
        emit AccountAdmitted(account, msg.sender);
    }

    /// @notice Suspend an active account. Callable by admins and the oversight board; the board
    ///         may also take over an admin's suspension, so that only the board can lift it.
    function suspend(address account) external onlyAdminOrBoard {
        bool byBoard = msg.sender == board;
        Status status = statusOf[account];
        if (status != Status.Active && !(byBoard && status == Status.Suspended && !suspendedByBoard[account])) {
            revert NotActive(account);
        }
        statusOf[account] = Status.Suspended;
        if (byBoard) suspendedByBoard[account] = true;
        emit AccountSuspended(account, msg.sender);
        if (status == Status.Active) _powerChanged(account, 0);
    }

    /// @notice Reinstate a suspended account. Callable by admins and the oversight board; a
    ///         suspension the board imposed is lifted only by the board.
    function reinstate(address account) external onlyAdminOrBoard {
        if (statusOf[account] != Status.Suspended) revert NotSuspended(account);
        if (suspendedByBoard[account]) {
            if (msg.sender != board) revert BoardSuspension(account);
            suspendedByBoard[account] = false;
        }
        statusOf[account] = Status.Active;
        emit AccountReinstated(account, msg.sender);
        _powerChanged(account, _validators[account].power);
    }

    /// @notice Remove an admitted account from the consortium (not one the board suspended).
    function remove(address account) external onlyAdmin {
        Status status = statusOf[account];
        if (status == Status.None) revert NotAdmitted(account);
        if (suspendedByBoard[account]) revert BoardSuspension(account);
        statusOf[account] = Status.None;
        uint256 index = _accountIndex[account];
        address last = _accounts[_accounts.length - 1];
        _accounts[index - 1] = last;
        _accountIndex[last] = index;
        _accounts.pop();
        delete _accountIndex[account];
        emit AccountRemoved(account, msg.sender);
        Validator memory v = _validators[account];
        if (v.pubKey != bytes32(0)) _dropValidator(account, v, status == Status.Active);
    }

    /// @dev The effective power of `organization`'s validator at recorded power `power`.
    function _effective(address organization, uint64 power) private view returns (uint64) {
        return statusOf[organization] == Status.Active ? power : 0;
    }

    /// @dev Announce that `organization`'s validator (if any) now has effective power `power`.
    function _powerChanged(address organization, uint64 power) private {
        bytes32 key = _validators[organization].pubKey;
        if (key != bytes32(0)) emit ValidatorPowerChanged(organization, key, power);
    }

    /// @dev Forget `organization`'s validator `v`, announcing power 0 when it counted
    ///      (`wasActive`: a suspension already announced 0 for a suspended organization).
    function _dropValidator(address organization, Validator memory v, bool wasActive) private {
        if (wasActive) emit ValidatorPowerChanged(organization, v.pubKey, 0);
        delete _keyOwner[v.pubKey];
        delete _validators[organization];
        uint256 index = _validatorIndex[organization];
        address last = _validatorOrgs[_validatorOrgs.length - 1];
        _validatorOrgs[index - 1] = last;
        _validatorIndex[last] = index;
        _validatorOrgs.pop();
        delete _validatorIndex[organization];
    }

    function _addAdmin(address admin) private {
        if (admin == address(0)) revert ZeroAddress();
        if (isAdmin[admin]) revert AlreadyAdmin(admin);
        if (statusOf[admin] != Status.None) revert RoleConflict(admin);
        isAdmin[admin] = true;
        adminCount += 1;
        emit AdminAdded(admin, msg.sender);
    }
}
