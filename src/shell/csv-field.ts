// CSV cells written by remote scripts (where no CSV library runs) and read back: RFC 4180
// quoting, and the spreadsheet formula guard csv-stringify's `escape_formulas` applies on
// the laptop (a cell starting with = + - @ TAB CR, or their full-width forms, gets a
// leading '), so a step named =HYPERLINK(...) stays text in a spreadsheet. A cell that
// itself starts with ' gets one more, so reading back (drop one leading ') is exact.
const FORMULA_START = /^['=+\-@\t\r\uFF1D\uFF0B\uFF0D\uFF20]/;

/** The text of a cell as written: formula characters guarded. */
function csvCellText(value: string): string {
  return FORMULA_START.test(value) ? `'${value}` : value;
}

/** One CSV field: guarded, then quoted when it needs it. */
export function csvField(value: string): string {
  const v = csvCellText(value);
  return /[",\n\r]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

/** Undoes csvCellText on a parsed cell. */
export function readCsvCell(cell: string): string {
  return cell.startsWith("'") ? cell.slice(1) : cell;
}

/**
 * csv-stringify options that write cells exactly as csvField does: escape_formulas
 * guards formula characters, the cast adds the extra ' to cells starting with '.
 */
export const CSV_STRINGIFY_GUARD = {
  escape_formulas: true,
  cast: { string: (v: string) => (v.startsWith("'") ? `'${v}` : v) },
} as const;
