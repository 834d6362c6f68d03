// The shell's randomness and signature primitives, called from src/worker/io.rs: WebCrypto with exactly the
// key, algorithm and bytes the Rust core chose. It decides nothing. Written in JS because the
// same calls through web-sys cost the wasm module more.
//
// Resolves to true or false; rejects with "alg" (the browser lacks the algorithm or curve, or
// WebCrypto is missing), "jwks" (the key is refused) or "signature" (verify itself failed).

// The hash at_hash needs ("SHA-256" | "SHA-384" | "SHA-512"), as a Uint8Array.
export async function digest(name, data) {
  return new Uint8Array(await crypto.subtle.digest(name, data.slice()));
}

export async function verifySignature(jwk, importAlgorithm, verifyAlgorithm, signature, data) {
  // Copies: these are views of wasm memory, which an await may move.
  signature = signature.slice();
  data = data.slice();
  const subtle = globalThis.crypto?.subtle;
  if (!subtle) throw 'alg'; // not a secure context
  let key;
  try {
    key = await subtle.importKey('jwk', JSON.parse(jwk), JSON.parse(importAlgorithm), false, ['verify']);
  } catch (error) {
    throw error?.name === 'NotSupportedError' ? 'alg' : 'jwks';
  }
  try {
    return (await subtle.verify(JSON.parse(verifyAlgorithm), key, signature, data)) === true;
  } catch {
    throw 'signature';
  }
}
