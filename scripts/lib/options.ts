// Command-line options of the benchmark scripts: `--name value` or `--name=value`, and bare flags.
export const args: readonly string[] = process.argv.slice(2);

/** The value of `--name value` / `--name=value`, or undefined. */
export function option(name: string, argv: readonly string[] = args): string | undefined {
  const eq = argv.find((a) => a.startsWith(`${name}=`));
  if (eq) return eq.slice(name.length + 1);
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
}
