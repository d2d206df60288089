/**
 * The arithmetic of the report: medians and the rates and ratios derived from
 * them. Pure, so it is tested without timing anything.
 */

/** Median of `values` (mean of the middle two for an even count); NaN for none. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** `count` per second over `seconds`; NaN when no time was measured. */
export function perSecond(count: number, seconds: number): number {
  return seconds > 0 ? count / seconds : Number.NaN;
}

/** Megabytes (10^6 bytes) per second. */
export function megabytesPerSecond(bytes: number, seconds: number): number {
  return perSecond(bytes / 1e6, seconds);
}

/** `value / reference`, NaN when either is missing. */
export function ratio(value: number, reference: number | undefined): number {
  return reference === undefined || !(reference > 0) || !Number.isFinite(value) ? Number.NaN : value / reference;
}

/** A number with `digits` significant digits at most, `–` when not a number. */
export function formatNumber(value: number, digits = 3): string {
  if (!Number.isFinite(value)) return '–';
  if (value === 0) return '0';
  const magnitude = Math.floor(Math.log10(Math.abs(value)));
  const decimals = Math.max(0, digits - 1 - magnitude);
  return value.toFixed(decimals);
}

/** A size in bytes as `4 KiB`, `256 KiB`, `1 MiB`, or bytes. */
export function formatSize(bytes: number): string {
  if (bytes >= 1 << 20 && bytes % (1 << 20) === 0) return `${bytes / (1 << 20)} MiB`;
  if (bytes >= 1024 && bytes % 1024 === 0) return `${bytes / 1024} KiB`;
  return `${bytes} B`;
}

/** Bytes as MB (10^6), for memory figures. */
export function formatMegabytes(bytes: number): string {
  return `${formatNumber(bytes / 1e6, 3)} MB`;
}
