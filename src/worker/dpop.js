// WebCrypto primitives, called from src/worker/io.rs: DPoP's (the worker's key pair, the private
// half non-extractable, only for signing, and ES256 signatures) and the JWS signature checks.
// The core decides what is signed, and which key and algorithm check what.

// Resolves to [privateKey, raw public key (0x04 || X || Y)].
export async function dpopKey() {
  const subtle = crypto.subtle;
  const { privateKey, publicKey } = await subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign']);
  return [privateKey, new Uint8Array(await subtle.exportKey('raw', publicKey))];
}

// Resolves to the IEEE P1363 signature (r || s) of the text `input` with the private half of
// `pair` ([privateKey, rawPublicKey]).
export async function dpopSign(pair, input) {
  return new Uint8Array(await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, pair[0], new TextEncoder().encode(input)));
}

// A JWS signature check for the core (ID tokens, UserInfo, with the key and algorithm it chose):
// importKey("jwk", ...) then verify. Resolves to whether it matches; rejects with "alg" (no
// WebCrypto, or the browser lacks the algorithm or curve: NotSupportedError), "jwks" (the key
// refused otherwise) or "signature" (verify failed). jwk and the algorithms are JSON text.
export async function verifySignature(jwk, importAlgorithm, verifyAlgorithm, signature, input) {
  // Copies: the views of wasm memory may not outlive the first await.
  [signature, input] = [signature.slice(), input.slice()];
  const subtle = crypto.subtle;
  if (subtle === undefined) throw 'alg';
  let key;
  try {
    key = await subtle.importKey('jwk', JSON.parse(jwk), JSON.parse(importAlgorithm), false, ['verify']);
  } catch (error) {
    throw error?.name === 'NotSupportedError' ? 'alg' : 'jwks';
  }
  try {
    return (await subtle.verify(JSON.parse(verifyAlgorithm), key, signature, input)) === true;
  } catch {
    throw 'signature';
  }
}
