// Pure builders of the scripts a phase sends to the host's long-lived shell.
// - probe script: reads every step's state in one round trip (DESIGN §2);
// - apply script: for each step, re-reads its state right before acting and stops
//   with STALE when it differs from what the decision was based on (an earlier step
//   changed it), acts, and reports each step as it goes; timing rows and the
//   checkpoint are written on the host itself, so they survive a dropped connection.
import { createHash } from 'node:crypto';
import { sh, raw, join, lines, type ShellText } from './sh.js';
import { csvField } from './csv-field.js';
import { TIMING_HEADER } from './csv-columns.js';
import type { Decision, Settle } from '../steps/step-type.js';
import { batchProbeScript, singleProbe, type BatchProbe } from '../facts/batch-probe.js';

export interface ScriptStep {
  index: number;
  name: string;
  probe: string | null;
  /** the same read in a form shared with other steps (probe script only; see facts/batch-probe) */
  batch?: BatchProbe;
  /** a handler step (restart_on): the file on the host that records its restart as pending */
  pendingFile?: string;
  /** the step's own limit in seconds (the phase's limit applies as well): its action and its probe */
  timeoutS?: number;
}

export interface RunFiles {
  stateDir: string;
  runId: string;
  host: string;
  phase: string;
}

// Records a script prints, each on a line of its own starting with \x1e<nonce>, tagged
// U PID B E G GE H STALE R S F FE PTO END.

/**
 * Where a handler's pending restart is recorded on the host: written when a step it watches
 * changes, removed once the handler step has run. So a restart survives a later failure
 * (or a dropped connection) and is done on the next run.
 */
export function pendingRestartFile(f: Pick<RunFiles, 'stateDir' | 'phase'>, stepName: string): string {
  const id = createHash('sha256').update(`${f.phase}\n${stepName}`).digest('hex').slice(0, 16);
  return `${f.stateDir}/pending-restarts/${id}`;
}

/**
 * Limits (SPEC §3 timeouts), shared by the probe and apply scripts. lim <step limit or 0>
 * sets LIM (seconds left, 0: none) and TW ("N step" or "N phase") from the step's own limit
 * and what is left of the phase's (PL seconds from P0, centiseconds of uptime). Builtins only.
 */
const LIMITS =
  `lim() { read u _ </proc/uptime; u=\${u%.*}\${u#*.}; LIM=$1; TW="$1 step"; ` +
  `if [ "$PL" -gt 0 ]; then r=$(( (PL*100 - (u - P0) + 99) / 100 )); if [ "$LIM" -eq 0 ] || [ "$r" -lt "$LIM" ]; then LIM=$r; TW="$PL phase"; fi; fi; ` +
  `[ "$LIM" -eq 0 ] || [ "$LIM" -ge 1 ] || LIM=1; }`;

/**
 * Reading a state (a probe, a batch of them, an `unless` guard) is bounded like an action.
 * One watchdog per script (a subshell: same user and privilege as the script, so under
 * `become` it is root too) reads $T/pp once a second: "<step> <deadline in centiseconds of
 * uptime> <N> step|phase", written by `pp <step> <step limit or 0>` before a read and
 * cleared by `pn`. Past the deadline it prints "PTO <step> <N> step|phase" and kills the
 * script's process group (the driver starts each script as a group of its own); a read
 * changes nothing, so nothing is left half-done. pp and pn are builtins and a file write:
 * the watchdog costs a script two processes (itself and its sleep), not one per step.
 */
const READ_GUARD = [
  LIMITS,
  `pp() { lim $2; d=0; [ "$LIM" -eq 0 ] || d=$((u + LIM*100)); echo "$1 $d $TW" > "$T/pp"; }`,
  `pn() { echo '- 0' > "$T/pp"; }`,
  'pn',
  // it also ends when the script is gone without its EXIT trap (killed by a signal, e.g. a dropped connection's SIGPIPE)
  `( trap 'kill "$S" 2>/dev/null; exit 0' TERM; while :; do sleep 1 </dev/null >/dev/null 2>&1 & S=$!; wait "$S"; ` +
    `kill -0 $$ 2>/dev/null && [ -e "$T/pp" ] || exit 0; ` +
    `read i d n tw < "$T/pp" || continue; [ "\${d:-0}" -gt 0 ] || continue; ` +
    `read u _ </proc/uptime; [ "\${u%.*}\${u#*.}" -lt "$d" ] || break; done; ` +
    `printf '\\036%s PTO %s %s %s\\n' "$N" "$i" "$n" "$tw"; kill -KILL -$$ ) </dev/null 2>/dev/null & PW=$!`,
  `trap 'kill -TERM "$PW" 2>/dev/null' EXIT`,
];

/** What a PTO record (a read past its limit) says: the step and why it failed; else undefined. */
export function readTimeout(args: readonly string[]): { index: number; reason: string } | undefined {
  const [index, n, kind] = args;
  if (!/^\d+$/.test(index ?? '') || !/^\d+$/.test(n ?? '')) return undefined;
  return {
    index: Number(index),
    reason: `timed out after ${n} s${kind === 'phase' ? ' (the phase limit)' : ''} while checking its state`,
  };
}

/** `pp` for a read covering these steps: the one whose own limit is the shortest answers for it. */
function readMark(steps: readonly Pick<ScriptStep, 'index' | 'timeoutS'>[]): ShellText {
  const limited = steps.filter((s) => s.timeoutS).sort((a, b) => a.timeoutS! - b.timeoutS!);
  const s = limited[0] ?? steps[0]!;
  return sh`pp ${s.index} ${Math.trunc(s.timeoutS ?? 0)}`;
}

/**
 * The probe script: every step's state in one round trip (DESIGN §2), each read bounded by
 * its step's own limit and by the phase's (phaseLimitS, counted from now); it reports its
 * PID so an interrupt can stop a read that hangs.
 */
export function probeScript(nonce: string, steps: readonly ScriptStep[], phaseLimitS = 0): string {
  // U: the host's clock (centiseconds of uptime) when the phase began
  const out = [
    sh`N=${nonce}; T=\${0%/*}; read u _ </proc/uptime; P0=\${u%.*}\${u#*.}; printf '\\036%s U %s\\n' "$N" "$P0"`,
  ];
  if (steps.some((s) => s.probe))
    out.push(sh`printf '\\036%s PID %s\\n' "$N" "$$"; PL=${Math.trunc(phaseLimitS)}`, ...READ_GUARD.map(raw));
  for (const s of steps) {
    // H: this handler's restart is pending from an earlier run
    if (s.pendingFile) out.push(sh`[ ! -e ${s.pendingFile} ] || printf '\\036%s H %s\\n' "$N" ${s.index}`);
    if (!s.probe || s.batch) continue;
    out.push(sh`${readMark([s])}; ${raw(singleProbe(s.index, s.probe))}`);
  }
  // file, line and creates-guard steps: a few processes for all of them, not a few each
  const batched = steps.flatMap((s) =>
    s.probe && s.batch ? [{ index: s.index, batch: s.batch, probe: s.probe, timeoutS: s.timeoutS }] : [],
  );
  const limits = new Map(batched.map((s) => [s.index, s]));
  return (
    lines(out).text +
    (batched.length ? batchProbeScript(batched, (indexes) => readMark(indexes.map((i) => limits.get(i)!)).text) : '')
  );
}

export interface ApplyStep extends ScriptStep {
  decision: Decision;
  /** What the probe printed when the decision was made: acted on only if still so. */
  expected: string | null;
  /** a handler whose restart an earlier run left pending: it restarts whatever changes now */
  pending?: boolean;
  /** pending-restart files of the handlers watching this step: written when it changes */
  marks?: string[];
  /** found stale, the step is decided and acted on by this on the host (R record), not by the controller */
  settle?: Settle;
}

/** Bytes of a step's output kept on the host while it runs (the tail is kept beyond that). */
export const STEP_OUTPUT_CAP = 1024 * 1024;
const STEP_OUTPUT_KEEP = 64 * 1024;

/**
 * Running an action (SPEC §3 timeouts). The action is written to $T/a and run in a
 * process group of its own (setsid), in the background; a watchdog (same user and
 * privilege as the script) ends the group past the limit: TERM, then KILL after 5 s.
 * Output goes to $T/out, cut back to its last 64 KiB whenever it passes 1 MiB. A TERM
 * to the script (an interrupt) is passed on to the running action's group.
 * The limit (LIM, TW) is set by lim (LIMITS) before each action.
 */
const STEP_RUNNER = [
  `trap '[ -n "$SP" ] && kill -TERM -"$SP" 2>/dev/null; exit 143' TERM HUP INT`,
  // rm only for what is there: most steps leave none of these files, and each rm is a process
  `rmf() { for f; do [ ! -e "$f" ] && [ ! -L "$f" ] || rm -f -- "$f"; done; }`,
  `cap() { set -- $(wc -c < "$T/out" 2>/dev/null); [ "\${1:-0}" -gt ${STEP_OUTPUT_CAP} ] || return 0; tail -c ${STEP_OUTPUT_KEEP} "$T/out" > "$T/out.k"; : > "$T/out"; }`,
  `runstep() {`,
  // $T/out and $T/out.k were cleared by stepFile, the only way in here
  `  rmf "$T/to"; TO=`,
  `  setsid sh "$T/a" </dev/null >>"$T/out" 2>&1 & SP=$!`,
  // the watchdog also ends once the action is reaped: a TERM that reaches it between its fork
  // and its own trap is lost (dash), and the wait for it would then last until the limit
  `  ( trap 'exit 0' TERM; i=0`,
  `    while kill -0 "$SP" 2>/dev/null && { [ "$LIM" -eq 0 ] || [ $i -lt "$LIM" ]; }; do sleep 1 </dev/null >/dev/null 2>&1 & wait $!; i=$((i+1)); cap; done`,
  `    kill -0 "$SP" 2>/dev/null || exit 0`,
  `    : > "$T/to"; kill -TERM -"$SP" 2>/dev/null; i=0`,
  `    while kill -0 -"$SP" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done`,
  `    kill -KILL -"$SP" 2>/dev/null ) </dev/null >/dev/null 2>&1 & W=$!`,
  `  wait "$SP"; r=$?; kill "$W" 2>/dev/null; wait "$W" 2>/dev/null; SP=`,
  `  if [ -e "$T/to" ]; then TO="timeout $TW"; [ $r -ne 0 ] || r=124; fi`,
  `  return $r`,
  `}`,
];

/** Shell text writing an action to $T/a (one quoted word to the printf builtin: no process), then `then`. */
function stepFile(script: string, then: ShellText): ShellText {
  // written whole (printf's status) or not run at all; no output of an earlier step is shown for it
  return sh`: > "$T/out"; rmf "$T/out.k"; printf '%s\\n' ${script} > "$T/a" && ${then}\n`;
}

export function timingFile(f: RunFiles): string {
  return `${f.stateDir}/runs/${f.runId}/timing.csv`;
}

/**
 * Shell function `iso CS`: sets TS to the UTC time of CS (centiseconds since the epoch) as
 * date -u +%Y-%m-%dT%H:%M:%S.%3NZ would print it (to 10 ms), by arithmetic alone (the
 * civil-from-days algorithm, H. Hinnant), so a timing row costs no `date` process.
 */
export const ISO_FROM_CS = [
  'iso() { i_s=$(($1/100)); i_c=$(($1%100)); i_z=$((i_s/86400+719468)); i_t=$((i_s%86400)); ',
  'i_e=$((i_z/146097)); i_d=$((i_z-i_e*146097)); i_y=$(((i_d-i_d/1460+i_d/36524-i_d/146096)/365)); ',
  'i_o=$((i_d-(365*i_y+i_y/4-i_y/100))); i_p=$(((5*i_o+2)/153)); i_dd=$((i_o-(153*i_p+2)/5+1)); ',
  'i_m=$((i_p<10 ? i_p+3 : i_p-9)); i_y=$((i_y+i_e*400+(i_m<=2))); ',
  'i_h=$((i_t/3600)); i_mi=$((i_t%3600/60)); i_se=$((i_t%60)); ',
  '[ $i_m -ge 10 ] || i_m=0$i_m; [ $i_dd -ge 10 ] || i_dd=0$i_dd; [ $i_h -ge 10 ] || i_h=0$i_h; ',
  '[ $i_mi -ge 10 ] || i_mi=0$i_mi; [ $i_se -ge 10 ] || i_se=0$i_se; [ $i_c -ge 10 ] || i_c=0$i_c; ',
  'TS=$i_y-$i_m-${i_dd}T$i_h:$i_mi:$i_se.${i_c}0Z; }',
].join('');

/** Shell text that appends one timing row; start/end are centisecond variables. */
function timingRow(
  f: RunFiles,
  step: string,
  startVar: ShellText,
  endVar: ShellText,
  statusExpr: ShellText,
): ShellText {
  const fixed = [f.runId, f.host, f.phase, step].map(csvField).join(',');
  return join(
    [
      // the row's time: the script's epoch at its start (E0) moved on by uptime, as date would say
      sh`d=$((${endVar}-${startVar})); s=$((E0+${startVar}-U0)); iso $((E0+${endVar}-U0)); `,
      sh`printf '%s,%s,%d.%02d,%d.%02d,%s\\n' "$TS" ${fixed} $((s/100)) $((s%100)) $((d/100)) $((d%100)) "${statusExpr}" >> "$TF"`,
    ],
    '',
  );
}

export function applyScript(
  nonce: string,
  files: RunFiles,
  steps: readonly ApplyStep[],
  changedBefore: ReadonlySet<number>,
  checkpoint: { hash: string } | null,
  phaseStartCs: number | null,
  /** rows already in timing.csv (before a dropped connection), by step index (PHASE_ROW: the phase's): status */
  recorded: ReadonlyMap<number, string> = new Map(),
  /** the phase's limit in seconds, counted from the phase's start */
  phaseLimitS = 0,
): string {
  const now = sh`read u _ </proc/uptime; u=\${u%.*}\${u#*.}`;
  const probed = steps.filter((s) => s.probe !== null);
  // the first step's state was read in the round trip just before: the others are re-checked
  const rechecks = steps.some((s, n) => n > 0 && s.probe !== null);
  const out: ShellText[] = [
    sh`N=${nonce}; T=\${0%/*}; TF=${timingFile(files)}`,
    sh`printf '\\036%s PID %s\\n' "$N" "$$"`,
    sh`read U0 _ </proc/uptime; U0=\${U0%.*}\${U0#*.}; E0=$(date +%s%2N)`,
    sh`[ -s "$TF" ] || printf '%s\\n' ${TIMING_HEADER} >> "$TF"`,
    sh`P0=${phaseStartCs ?? raw('$U0')}; PC=${raw(changedBefore.size ? 'changed' : 'ok')}`,
    ...[...changedBefore].map((i) => sh`C_${i}=1`),
    // each step's probe as a function: re-checked before acting, and read afresh for all
    // the steps left when one has gone stale, so the controller can decide again at once
    ...probed.map((s) => sh`p_${s.index}() {\n${raw(s.probe!)}\n}`),
    sh`PL=${Math.trunc(phaseLimitS)}`,
    // re-checks are bounded as the probe script's reads are (pp ... pn around each)
    ...(rechecks ? READ_GUARD : [LIMITS]).map(raw),
    ...STEP_RUNNER.map(raw),
    raw(ISO_FROM_CS),
    // <step>:<its own limit> of each step left, read afresh when one went stale
    join(
      [
        sh`rr() { for il in ${probed.map((s) => `${s.index}:${Math.trunc(s.timeoutS ?? 0)}`)}; do i=\${il%:*}; [ "$i" -ge "$1" ] || continue; `,
        sh`pp "$i" "\${il#*:}"; o=$( { p_$i; } 2>/dev/null ); r=$?; pn; printf '\\036%s B %s %s\\n%s\\n\\036%s E %s\\n' "$N" "$i" "$r" "$o" "$N" "$i"; done; }`,
      ],
      '',
    ),
  ];
  steps.forEach((s, n) => out.push(...applyStepLines(files, s, n, now, recorded)));
  out.push(now);
  if (checkpoint) {
    out.push(sh`iso $((E0+u-U0))`, checkpointWrite(files, checkpoint.hash, sh`\${TS%.*}Z`));
    if (!recorded.has(PHASE_ROW)) out.push(timingRow(files, '', raw('P0'), raw('u'), raw('$PC')));
  }
  out.push(sh`printf '\\036%s END\\n' "$N"`);
  return lines(out).text;
}

/** The key of a phase's own timing row among the recorded rows of applyScript (steps are 0 and up). */
export const PHASE_ROW = -1;

/** One step of the apply script: re-check (stale or settle), act, handler restart, timing row, S record. */
function applyStepLines(
  files: RunFiles,
  s: ApplyStep,
  n: number,
  now: ShellText,
  recorded: ReadonlyMap<number, string>,
): ShellText[] {
  const d = s.decision;
  const out = [sh`# step ${s.index}`, sh`${now}; A=$u; st=ok; cs=ok; P1=$PC`];
  const act = (script: string, status: string) =>
    join(
      [
        stepFile(script, sh`{ lim ${Math.trunc(s.timeoutS ?? 0)}; runstep; }`),
        sh`rc=$?; if [ $rc -ne 0 ]; then ${now}; ${timingRow(files, s.name, raw('A'), raw('u'), raw('failed'))}; `,
        sh`printf '\\036%s F %s %s %s\\n' "$N" ${s.index} $rc "$TO"; { cat "$T/out.k" "$T/out" 2>/dev/null; } | tail -c 2000; printf '\\n\\036%s FE %s\\n' "$N" ${s.index}; exit 0; fi; `,
        sh`C_${s.index}=1; PC=changed; st=${status}; cs=changed`,
      ],
      '',
    );
  // a handler's restart is recorded on the host before anything else can fail
  const mark = s.marks?.length ? sh`; mkdir -p ${s.marks[0]!.replace(/\/[^/]*$/, '')} && touch ${s.marks}` : raw('');
  // the first step's state was read in the round trip just before: no re-check
  let settled = false;
  if (n > 0 && s.probe !== null) {
    const stale = sh`${readMark([s])}; o=$( { p_${s.index}; } 2>/dev/null ); pn; if [ "$o" != ${s.expected ?? ''} ]; then `;
    if (s.settle && !d.onChanged) {
      // changed since the probe: decided again here by the step's own settle action, no round trip;
      // it leaves "ok" in its folder when nothing was needed
      out.push(
        join(
          [
            sh`${stale}printf '\\036%s R %s\\n' "$N" ${s.index}; rm -f "$T/ok"; `,
            sh`${act(s.settle.script, 'changed')}; if [ -e "$T/ok" ]; then st=ok; cs=ok; unset C_${s.index}; PC=$P1${mark.text ? sh`; else :${mark}` : raw('')}; fi; SD=1; else SD=; fi`,
          ],
          '',
        ),
      );
      settled = true;
    } else {
      out.push(sh`${stale}rr ${s.index}; printf '\\036%s STALE %s\\n' "$N" ${s.index}; exit 0; fi`);
    }
  }
  if (d.status === 'change')
    out.push(
      settled
        ? sh`if [ -z "$SD" ]; then ${act(d.script, 'changed')}${mark}; fi`
        : sh`${act(d.script, 'changed')}${mark}`,
    );
  if (d.onChanged) {
    const trigger = raw(d.onChanged.steps.map((i) => `\${C_${Number(i)}:-}`).join('') + (s.pending ? 'pending' : ''));
    out.push(sh`if [ -n "${trigger}" ]; then ${act(d.onChanged.script, 'restarted')}; fi`);
  }
  if (s.pendingFile) out.push(sh`rm -f ${s.pendingFile}`);
  // a step recorded before a drop gets no second row, unless it was ok then and has changed since
  const row = timingRow(files, s.name, raw('A'), raw('u'), raw('$cs'));
  const before = recorded.get(s.index);
  out.push(
    before === undefined ? sh`${now}; ${row}` : before === 'ok' ? sh`${now}; [ "$cs" = ok ] || { ${row}; }` : now,
  );
  out.push(sh`printf '\\036%s S %s %s %s\\n' "$N" ${s.index} "$st" $((u-A))`);
  return out;
}

/**
 * For a phase found already satisfied by its probe: record the checkpoint and the
 * timing rows without a round trip of its own (sent ahead of the next script).
 */
export function satisfiedPhaseScript(
  files: RunFiles,
  stepNames: readonly string[],
  hash: string | null,
  durationMs: number,
  /** false when the phase's row is already there (resumed after a drop) */
  phaseRow = true,
): string {
  const dur = (durationMs / 1000).toFixed(2);
  // names are data: printf's format is fixed, every row's fields are arguments (the format repeats per 4)
  const rows = [...stepNames.map((n) => [n, '0.00']), ...(phaseRow ? [['', dur]] : [])];
  if (!rows.length) return hash ? checkpointScript(files, hash) : '';
  const args = rows.map(
    ([step, d]) => sh`"$ts" ${[files.runId, files.host, files.phase, step!].map(csvField).join(',')} "$ep" ${d!}`,
  );
  return (
    lines([
      sh`TF=${timingFile(files)}; [ -s "$TF" ] || printf '%s\\n' ${TIMING_HEADER} >> "$TF"`,
      // one date for both clocks (UTC with milliseconds; epoch with centiseconds)
      sh`ts=$(date -u '+%Y-%m-%dT%H:%M:%S.%3NZ %s.%2N'); ep=\${ts#* }; ts=\${ts% *}`,
      sh`printf '%s,%s,%s,%s,ok\\n' ${args} >> "$TF"`,
    ]).text + (hash ? `${checkpointWrite(files, hash, sh`\${ts%.*}Z`).text}\n` : '')
  );
}

/** Records a phase as completed (temp file + rename). */
export function checkpointScript(files: RunFiles, hash: string): string {
  return `${checkpointWrite(files, hash).text}\n`;
}

/**
 * The checkpoint written in place, by the printf builtin: one short line, one write(2), no
 * temp file and no `mv`. No rename is needed for it to be safe: only the lock's holder writes
 * it, inside a state dir checked to be the user's own and private; a write cut short (a
 * crash, a full disk) leaves an empty or partial line, which never matches a phase's hash,
 * so the phase is only probed again; and a hash read whole was written after the phase
 * completed. `stamp` is shell text for the time (UTC, seconds), when the script already has it.
 */
function checkpointWrite(
  files: RunFiles,
  hash: string,
  stamp: ShellText = sh`$(date -u +%Y-%m-%dT%H:%M:%SZ)`,
): ShellText {
  const ck = `${files.stateDir}/checkpoints/${files.phase}`;
  return sh`{ printf '%s %s %s\\n' ${hash} "${stamp}" ${files.runId} > ${ck}; } 2>/dev/null`;
}
