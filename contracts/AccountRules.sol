// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title AccountRules
/// @notice The consortium's membership list. Admins admit, suspend, reinstate and remove
///         organization accounts; the oversight board (if set) may suspend and reinstate.
///         The roles are kept apart: an admin is never an organization account (so no admin
///         can transact past its own suspension), and only the board lifts a suspension the
///         board imposed. Once set, the board is changed only by the board itself.
/// @dev Implements Hyperledger Besu's account-permissioning interface
///      (`transactionAllowed`), so the same contract can govern a Besu network; the Collective
///      node consults it before accepting a transaction. Every change is an event, so the
///      membership at any block can be rebuilt from logs alone.
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

    address[] private _accounts;
    mapping(address => uint256) private _accountIndex; // 1-based position in _accounts

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

    /// @notice Every account ever admitted and not removed (active or suspended).
    function accounts() external view returns (address[] memory) {
        return _accounts;
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
    }

    /// @notice Remove an admitted account from the consortium (not one the board suspended).
    function remove(address account) external onlyAdmin {
        if (statusOf[account] == Status.None) revert NotAdmitted(account);
        if (suspendedByBoard[account]) revert BoardSuspension(account);
        statusOf[account] = Status.None;
        uint256 index = _accountIndex[account];
        address last = _accounts[_accounts.length - 1];
        _accounts[index - 1] = last;
        _accountIndex[last] = index;
        _accounts.pop();
        delete _accountIndex[account];
        emit AccountRemoved(account, msg.sender);
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
