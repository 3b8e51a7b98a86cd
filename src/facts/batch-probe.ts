// Probes read together: a 50-step phase's probe would fork a subshell and a program or two
// per step (~135 processes for file/line/command steps). Steps that can say what they read
// in a shareable form are probed in batches instead: one `stat` for every file step's path,
// one `sha256sum` for every regular file among them, one `awk` for every line step, and
// shell builtins for the rest (existence tests, `creates` guards) - about 3 processes for the
// whole phase. Each step still gets exactly the text its own probe would print (the apply
// script compares that text with a fresh run of the step's own probe), so decide() and the
// stale check are unchanged.
import { sh, raw, join, lines, heredoc, type ShellText } from '../shell/sh.js';

/** What a probe printed (trailing newlines trimmed) and its exit code: the steps' ProbeOutput. */
export interface ProbeOutput {
  text: string;
  exitCode: number;
}

/** What a step reads, in a form other steps' reads can share a process with. */
export type BatchProbe =
  /** what pathStateProbe(path) prints */
  | { kind: 'path'; path: string }
  /** what lineStateProbe(path, line, regexp) prints */
  | { kind: 'line'; path: string; line: string; regexp?: string }
  /** shell builtins only, always exit 0, no exit/cd/assignments: run in the script's own shell */
  | { kind: 'inline'; script: string };

export interface BatchStep {
  index: number;
  batch: BatchProbe;
  /** the step's own probe: run one by one if a batch's program fails (an unreadable file) */
  probe: string;
}

/** A step's record as a per-step probe prints it: B <index> <exit code>, the text, E <index>. */
function stepRecord(index: number, text: string): ShellText {
  return sh`printf '\\036%s B %s 0\\n%s\\n\\036%s E %s\\n' "$N" ${index} ${text} "$N" ${index}`;
}

/** One probe as the probe script runs it alone (subshell, output captured). */
export function singleProbe(index: number, probe: string): string {
  return sh`o=$( { ${raw(probe)}\n} 2>/dev/null ); printf '\\036%s B %s %s\\n%s\\n\\036%s E %s\\n' "$N" ${index} "$?" "$o" "$N" ${index}`
    .text;
}

/**
 * Shell text reading every batched step's state; it prints B/E records for steps whose
 * answer the shell knows by itself (a missing file) and G <kind> <indexes...> ... GE records
 * for the batches, which batchFacts turns into per-step texts. Needs $N (the nonce).
 * `mark(indexes)` is shell text run before each read, naming the steps it reads for (the
 * caller bounds each read by their time limits); builtins only, so the no-op path forks nothing more.
 */
export function batchProbeScript(steps: readonly BatchStep[], mark: (indexes: number[]) => string = () => ':'): string {
  const out: ShellText[] = [];
  const paths = steps.filter((s) => s.batch.kind === 'path') as (BatchStep & {
    batch: { kind: 'path'; path: string };
  })[];
  const lineSteps = steps.filter((s) => s.batch.kind === 'line') as (BatchStep & {
    batch: { kind: 'line'; path: string; line: string; regexp?: string };
  })[];
  const inline = steps.filter((s) => s.batch.kind === 'inline');
  if (inline.length) out.push(raw(mark(inline.map((s) => s.index))));
  for (const s of inline) {
    if (s.batch.kind !== 'inline') continue;
    out.push(
      sh`printf '\\036%s B %s 0\\n' "$N" ${s.index}; { ${raw(s.batch.script)}\n} 2>/dev/null; printf '\\n\\036%s E %s\\n' "$N" ${s.index}`,
    );
  }
  if (paths.length) {
    // kind, mode, owner of the paths that exist (builtin tests pick them), in one stat
    out.push(raw(mark(paths.map((s) => s.index))), sh`set --; I=`);
    for (const s of paths) {
      const p = s.batch.path;
      out.push(
        sh`if [ -e ${p} ] || [ -L ${p} ]; then set -- "$@" ${p}; I="$I ${s.index}"; else ${stepRecord(s.index, 'absent')}; fi`,
      );
    }
    // a path gone between the test and stat fails the whole call: then one by one
    out.push(
      join(
        [
          sh`if [ $# -gt 0 ]; then o=$(stat -c 'exists|%F|%a|%U|%G' -- "$@" 2>/dev/null) || `,
          sh`o=$( { for p; do stat -c 'exists|%F|%a|%U|%G' -- "$p" || echo absent; done; } 2>/dev/null ); printf '\\036%s G stat%s\\n%s\\n\\036%s GE\\n' "$N" "$I" "$o" "$N"; fi`,
        ],
        '',
      ),
    );
    // the sha256 of the regular files among them, in one sha256sum
    out.push(sh`set --; I=`);
    for (const s of paths) {
      const p = s.batch.path;
      out.push(sh`if [ -f ${p} ]; then set -- "$@" ${p}; I="$I ${s.index}"; fi`);
    }
    out.push(
      join(
        [
          sh`if [ $# -gt 0 ]; then o=$(sha256sum -- "$@" 2>/dev/null) || `,
          sh`o=$( { for p; do sha256sum < "$p" || echo -; done; } 2>/dev/null ); printf '\\036%s G sha%s\\n%s\\n\\036%s GE\\n' "$N" "$I" "$o" "$N"; fi`,
        ],
        '',
      ),
    );
  }
  if (lineSteps.length) {
    // one awk over every line step's file (k=<n> before each file says whose it is); the
    // lines and regexps come through a quoted here-document, 3 lines per step: index, line, regexp
    const data = lineSteps.flatMap((s) => [String(s.index), s.batch.line, s.batch.regexp ?? '']);
    out.push(raw(mark(lineSteps.map((s) => s.index))), sh`set --; K=`);
    lineSteps.forEach((s, n) => {
      const p = s.batch.path;
      out.push(
        sh`if [ -f ${p} ]; then set -- "$@" k=${n + 1} ${p}; K="$K ${n + 1}"; else ${stepRecord(s.index, 'missing')}; fi`,
      );
    });
    const prog =
      'BEGIN{while ((getline x < "/dev/stdin") > 0) {n++; I[n]=x; if ((getline L[n] < "/dev/stdin") <= 0) L[n]=""; if ((getline R[n] < "/dev/stdin") <= 0) R[n]=""}} ' +
      '!P[k] && $0==L[k] {P[k]=FNR} R[k]!="" && !M[k] && $0 ~ R[k] {M[k]=FNR; T[k]=$0} ' +
      'END{c=split(K, Q, " "); for (j=1; j<=c; j++) {q=Q[j]; printf "\\036%s B %s 0\\npresent=%d match=%d\\n%s\\n\\036%s E %s\\n", N, I[q], P[q], M[q], T[q], N, I[q]}}';
    // an unreadable file stops awk: then each line step alone, as its own probe does it
    const fallback = join(
      lineSteps.map((s) => sh`[ ! -f ${s.batch.path} ] || ${raw(singleProbe(s.index, s.probe))}`),
      '\n',
    );
    out.push(
      sh`if [ $# -gt 0 ]; then awk -v N="$N" -v K="$K" ${prog} "$@" 2>/dev/null ${heredoc('VPSP_LINES', data.join('\n'))}[ $? -eq 0 ] || {\n${fallback}\n}\nfi`,
    );
  }
  return lines(out).text;
}

/** The 64-hex sha256 of one sha256sum output line ("<hex>  name", "\\<hex>  escaped name", "-"). */
function shaOf(line: string): string | undefined {
  const m = /^\\?([0-9a-f]{64})(?: |$)/.exec(line);
  return m?.[1];
}

/** One G record: its kind, the step indexes it covers and its body. */
export interface BatchRecord {
  kind: string;
  indexes: number[];
  body: string;
}

/**
 * Per-step probe texts from the G records (stat and sha of path steps): exactly what
 * pathStateProbe would have printed, trailing newlines trimmed.
 */
export function batchFacts(records: readonly BatchRecord[]): Map<number, ProbeOutput> {
  const stat = new Map<number, string>();
  const sha = new Map<number, string>();
  for (const r of records) {
    const rows = r.body.split('\n');
    r.indexes.forEach((index, i) => {
      const row = rows[i] ?? '';
      if (r.kind === 'stat') stat.set(index, row);
      if (r.kind === 'sha') {
        const h = shaOf(row);
        if (h) sha.set(index, h);
      }
    });
  }
  const out = new Map<number, ProbeOutput>();
  for (const [index, row] of stat) {
    const text =
      row.startsWith('exists|') && sha.has(index)
        ? `${row}\n${sha.get(index)}`
        : row.startsWith('exists|')
          ? row
          : 'absent';
    out.set(index, { exitCode: 0, text });
  }
  return out;
}
