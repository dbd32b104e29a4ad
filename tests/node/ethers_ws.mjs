// ethers.js v6 watching `collective node` over WebSocket: a block listener (eth_subscribe
// newHeads) and a log filter (eth_subscribe logs), as wallets and dapps watch a chain.
// usage: node ethers_ws.mjs WS_URL ADDRESS TOPIC0
// prints {"ready": true} once subscribed, then one JSON line with what it saw, and exits.
import { ethers } from "ethers";

const [url, address, topic] = process.argv.slice(2);
const provider = new ethers.WebSocketProvider(url);
const seen = { blocks: [], logs: [] };
let finished = false;
const finish = async () => {
  if (finished || seen.blocks.length === 0 || seen.logs.length === 0) return;
  finished = true;
  console.log(JSON.stringify(seen));
  await provider.destroy();
  process.exit(0);
};
await provider.on("block", (number) => {
  seen.blocks.push(number);
  finish();
});
await provider.on({ address, topics: [topic] }, (log) => {
  seen.logs.push({ address: log.address, tx: log.transactionHash, block: log.blockNumber });
  finish();
});
console.log(JSON.stringify({ ready: true, chainId: Number((await provider.getNetwork()).chainId) }));
setTimeout(() => {
  console.error("timed out: " + JSON.stringify(seen));
  process.exit(2);
}, 60000);
