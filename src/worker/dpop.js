// DPoP's WebCrypto primitives, called from src/worker/io.rs: the worker's key pair (the private
// half non-extractable, only for signing) and ES256 signatures. The core decides what is signed.

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
