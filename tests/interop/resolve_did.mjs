// Resolve did:ethr DIDs with the reference resolver (npm ethr-did-resolver + did-resolver).
//
//   node tests/interop/resolve_did.mjs [--now=UNIX_SECONDS] RPC_URL REGISTRY CHAIN_ID DID...
//
// Prints one JSON object {"results": {DID: resolution result, ...}, "now": seconds}. A DID may
// carry ?versionId=BLOCK. The resolver compares validTo with this machine's clock; --now fixes
// that clock (only the argument-less `new Date()` and `Date.now()` are affected, so block
// times still format normally) so that a caller can compare with another resolver exactly.
// DIDs should name the chain by hex id (did:ethr:0x7a69:0x...) or have no network part: both
// are configured for CHAIN_ID.
import { Resolver } from 'did-resolver'
import { getResolver } from 'ethr-did-resolver'

const args = process.argv.slice(2)
if (args[0]?.startsWith('--now=')) {
  const fixedMs = Number(args.shift().slice('--now='.length)) * 1000
  if (!Number.isFinite(fixedMs)) {
    console.error('--now needs unix seconds')
    process.exit(2)
  }
  const RealDate = Date
  globalThis.Date = class extends RealDate {
    constructor(...parts) {
      if (parts.length === 0) super(fixedMs)
      else super(...parts)
    }
    static now() {
      return fixedMs
    }
  }
}
const [rpcUrl, registry, chainIdText, ...dids] = args
if (!rpcUrl || !registry || !chainIdText || dids.length === 0) {
  console.error('usage: node resolve_did.mjs [--now=SECONDS] RPC_URL REGISTRY CHAIN_ID DID...')
  process.exit(2)
}
const chainId = BigInt(chainIdText)
const networks = [
  { chainId, rpcUrl, registry },
  // DIDs without a network part resolve on "mainnet": point it at the same node.
  { name: 'mainnet', chainId, rpcUrl, registry },
]
const resolver = new Resolver(getResolver({ networks }), { cache: false })

const results = {}
for (const did of dids) {
  results[did] = await resolver.resolve(did)
}
process.stdout.write(JSON.stringify({ results, now: Date.now() / 1000 }) + '\n')
