// CSV field quoting (RFC 4180) for rows written by remote scripts, where no CSV library runs.
export function csvField(value: string): string {
  return /[",\n\r]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}
