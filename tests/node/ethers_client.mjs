// ethers.js v6 against `collective node`: read blocks, call a contract, fetch logs.
// usage: node ethers_client.mjs URL RULES_ADDRESS ADMIN_ADDRESS
import { ethers } from "ethers";

const [url, rulesAddress, admin] = process.argv.slice(2);
const provider = new ethers.JsonRpcProvider(url, undefined, { staticNetwork: true });
const network = await provider.getNetwork();
const head = await provider.getBlockNumber();
const block = await provider.getBlock(head, true);
const first = await provider.getBlock(1, true);
const rules = new ethers.Contract(
  rulesAddress,
  [
    "function isAdmin(address) view returns (bool)",
    "event AdminAdded(address indexed admin, address indexed by)",
  ],
  provider,
);
const isAdmin = await rules.isAdmin(admin);
const logs = await rules.queryFilter(rules.filters.AdminAdded(), 0, head);
const fee = await provider.getFeeData();
console.log(JSON.stringify({
  chainId: Number(network.chainId),
  head,
  blockHash: block.hash,
  firstTxs: first.prefetchedTransactions.length,
  isAdmin,
  logs: logs.map((log) => ({ admin: log.args.admin, block: log.blockNumber })),
  gasPrice: fee.gasPrice !== null,
}));
