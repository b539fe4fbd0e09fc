// `--name=value` flags of a bench's command line.
const flags = new Map(
  process.argv.slice(2).filter((a) => a.startsWith('--')).map((a) => {
    const at = a.indexOf('=');
    return at < 0 ? [a.slice(2), 'true'] : [a.slice(2, at), a.slice(at + 1)];
  }),
);

export const args = {
  int(name: string, fallback: number): number {
    const v = flags.get(name);
    if (v === undefined) return fallback;
    const n = Number(v.replaceAll('_', ''));
    if (!Number.isFinite(n)) throw new Error(`--${name} must be a number, got ${v}`);
    return n;
  },
  str(name: string, fallback: string): string {
    return flags.get(name) ?? fallback;
  },
  bool(name: string): boolean {
    return flags.get(name) === 'true';
  },
};
