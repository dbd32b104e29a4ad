// Sign a Collective consent request with ethers.js (npm ethers 6), as an external wallet would,
// from the EIP-712 typed-data JSON the project writes (collective.signing.typed_data_json).
//
//   COLLECTIVE_TEST_KEY=0x... node tests/interop/ethers_sign.mjs TYPED_DATA.json
//
// Prints one JSON object: {"signature", "signer", "recovered", "digest", "message"}, where
// message is the struct as ethers read it (its integers as decimal strings). When ethers
// refuses the document (say an expiry written as a JSON number past 2^53), prints
// {"error": ...} and exits 1.
import { readFileSync } from 'node:fs'
import { TypedDataEncoder, Wallet, verifyTypedData } from 'ethers'

const [file] = process.argv.slice(2)
const document = JSON.parse(readFileSync(file, 'utf8'))
// ethers derives the domain's type from the domain object and refuses an explicit one.
const { EIP712Domain, ...types } = document.types
const wallet = new Wallet(process.env.COLLECTIVE_TEST_KEY)
try {
  const signature = await wallet.signTypedData(document.domain, types, document.message)
  const message = TypedDataEncoder.from(types).visit(document.message, (type, value) =>
    type.startsWith('uint') ? BigInt(value).toString() : value,
  )
  console.log(JSON.stringify({
    signature,
    signer: wallet.address,
    recovered: verifyTypedData(document.domain, types, document.message, signature),
    digest: TypedDataEncoder.hash(document.domain, types, document.message),
    message,
  }))
} catch (error) {
  console.log(JSON.stringify({ error: error.shortMessage ?? error.message }))
  process.exit(1)
}
