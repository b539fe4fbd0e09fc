/** Decodes UTF-8 without repairing it: a broken sequence is an error, not U+FFFD. A BOM is kept, so JSON.parse refuses it. */
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * JSON.parse, refusing any object that names a key twice. Parsers disagree on which duplicate
 * wins (JSON.parse keeps the last, others the first), so a body the proxy checks must mean the
 * same to every parser behind it. Throws a SyntaxError naming the problem.
 */
export function parseStrictJson(bytes: Buffer): unknown {
  let text: string;
  try {
    text = UTF8.decode(bytes);
  } catch {
    throw new SyntaxError('the body is not valid UTF-8');
  }
  const value: unknown = JSON.parse(text);
  const duplicate = firstDuplicateKey(text);
  if (duplicate !== undefined) throw new SyntaxError(`duplicate key ${JSON.stringify(duplicate)} in a JSON object`);
  return value;
}

/** Scans text JSON.parse has accepted; one set of keys per open object. */
function firstDuplicateKey(text: string): string | undefined {
  // Per open container: the keys seen (an object) or undefined (an array).
  const stack: (Set<string> | undefined)[] = [];
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (char === '{') {
      stack.push(new Set());
      expectKey = true;
    } else if (char === '[') {
      stack.push(undefined);
    } else if (char === '}' || char === ']') {
      stack.pop();
    } else if (char === ',') {
      expectKey = stack.at(-1) !== undefined;
    } else if (char === '"') {
      const end = endOfString(text, i);
      if (expectKey) {
        // Compare decoded keys: "m\u0065thod" is "method" to every parser.
        const key = JSON.parse(text.slice(i, end + 1)) as string;
        const keys = stack.at(-1) as Set<string>;
        if (keys.has(key)) return key;
        keys.add(key);
        expectKey = false;
      }
      i = end;
    }
  }
  return undefined;
}

/** Index of the closing quote of the string opening at `start`. */
function endOfString(text: string, start: number): number {
  for (let i = start + 1; i < text.length; i++) {
    if (text[i] === '\\') i++;
    else if (text[i] === '"') return i;
  }
  return text.length;
}
