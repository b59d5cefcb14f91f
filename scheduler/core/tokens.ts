// Tokenizer-free prompt estimate, as llm-d's `estimate` token producer does it: the UTF-8 bytes of the text
// packed four at a time (little-endian) into one pseudo-token. Equal text prefixes give equal token prefixes,
// which is all the prefix index needs.

const encoder = new TextEncoder();

export function estimatePromptTokens(text: string): Uint32Array {
  const bytes = encoder.encode(text);
  const tokens = new Uint32Array(Math.ceil(bytes.length / 4));
  const whole = bytes.length >>> 2;
  for (let i = 0; i < whole; i++) {
    const b = i << 2;
    tokens[i] =
      ((bytes[b] ?? 0) |
        ((bytes[b + 1] ?? 0) << 8) |
        ((bytes[b + 2] ?? 0) << 16) |
        ((bytes[b + 3] ?? 0) << 24)) >>>
      0;
  }
  if (whole < tokens.length) {
    let last = 0;
    for (let b = whole << 2, shift = 0; b < bytes.length; b++, shift += 8) last |= (bytes[b] ?? 0) << shift;
    tokens[whole] = last >>> 0;
  }
  return tokens;
}
