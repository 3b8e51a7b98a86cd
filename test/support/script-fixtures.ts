// Every generated script, built from fixed inputs: the golden files under test/golden/
// are these texts (test/unit/script-golden.test.ts compares them; `npm run golden:update`
// rewrites them on purpose). `root` is where the steps' files are: a fixed path for the
// golden text, a temp folder when the scripts are run under dash.
import { STEP_TYPES } from '../../src/steps/registry.js';
import { UNKNOWN_OS } from '../../src/facts/os-release.js';
import type { Decision, ProbeOutput } from '../../src/steps/step-type.js';
import {
  probeScript,
  applyScript,
  satisfiedPhaseScript,
  checkpointScript,
  pendingRestartFile,
  type ApplyStep,
  type RunFiles,
  type ScriptStep,
} from '../../src/shell/phase-scripts.js';
import {
  openSessionScript,
  stateDirScript,
  releaseLockScript,
  waitForScriptScript,
  runFilesScript,
  writeRunFilesScript,
  pruneRunsScript,
  closeSessionScript,
  fetchRunScript,
  catFileScript,
  rebootRequiredScript,
  bootStateScript,
} from '../../src/shell/host-scripts.js';
import {
  startMonitorCommand,
  stopMonitorCommand,
  monitorStatusCommand,
  readSamplesCommand,
} from '../../src/monitor/monitor-commands.js';
import { benchmarkCommand } from '../../src/monitor/benchmark-commands.js';
import { sourceProbeScript } from '../../src/facts/source-reach.js';

export const NONCE = '0123456789ab';
export const RUN_ID = '20261130T000000Z-0123456789abcdef';

interface FixtureStep {
  type: string;
  name: string;
  args: unknown;
  /** what the probe printed when the decision was made (null: the step has no probe) */
  probed: string | null;
  timeoutS?: number;
}

/** Steps that touch only files under `root`: run for real under dash. */
export function fileSteps(root: string): FixtureStep[] {
  return [
    {
      type: 'file',
      name: 'conf',
      args: { path: `${root}/a.conf`, content: "x=1\n%s $(id) 'q'\n", mode: '0600' },
      probed: 'absent',
    },
    {
      type: 'line',
      name: 'line',
      args: { path: `${root}/b.conf`, line: 'y=2 % $HOME', regexp: '^y=' },
      probed: 'missing',
    },
    {
      type: 'command',
      name: 'make it',
      args: { run: `printf 'made\\n' > ${root}/made`, creates: `${root}/made` },
      probed: 'creates=no',
      timeoutS: 30,
    },
    {
      type: 'command',
      name: 'guarded',
      args: { run: `echo guarded >> ${root}/log`, unless: `test -f ${root}/never` },
      probed: 'unless=1',
    },
    { type: 'command', name: 'always', args: { run: `echo always >> ${root}/log` }, probed: null },
  ];
}

/** The file steps and steps of every other type (their scripts are golden text only). */
function allSteps(root: string): FixtureStep[] {
  return [
    ...fileSteps(root),
    { type: 'apt', name: 'packages', args: { packages: ['curl', 'xrdp'] }, probed: 'curl\tii \t8.14' },
    {
      type: 'user',
      name: 'dev user',
      args: { name: 'dev', groups: ['sudo'], shell: '/bin/bash', sudo: 'nopasswd' },
      probed: 'absent',
    },
    {
      type: 'service',
      name: 'xrdp up',
      args: { name: 'xrdp', enabled: true, state: 'started', restart_on: ['conf'] },
      probed: 'enabled\n\ninactive',
    },
    {
      type: 'apt_repo',
      name: 'vendor repo',
      args: { name: 'vendor', key_url: 'https://example.com/key.gpg', repo: 'https://example.com/apt stable main' },
      probed: 'key=absent\nlist=absent',
    },
    {
      type: 'deb',
      name: 'vendor deb',
      args: { package: 'vendor-tool', url: 'https://example.com/tool.deb' },
      probed: '',
    },
  ];
}

function instances(steps: readonly FixtureStep[]) {
  return steps.map((s, index) => {
    const type = STEP_TYPES.get(s.type);
    if (!type) throw new Error(`no step type ${s.type}`);
    return { ...s, index, type, args: type.schema.parse(s.args) };
  });
}

export function runFiles(stateDir: string): RunFiles {
  return { stateDir, runId: RUN_ID, host: 'web-1, "east"', phase: 'base' };
}

/** The probe script and the apply script of one phase of `steps`. */
export function phaseScripts(
  steps: readonly FixtureStep[],
  stateDir: string,
  opts: {
    changedBefore?: number[];
    recorded?: [number, string][];
    phaseLimitS?: number;
    startCs?: number;
  } = {},
): { probe: string; apply: string } {
  const files = runFiles(stateDir);
  const inst = instances(steps);
  const byName = new Map(inst.map((s) => [s.name, s.index]));
  const handler = (s: (typeof inst)[number]) =>
    s.type.watches?.(s.args).length ? pendingRestartFile(files, s.name) : undefined;
  const scriptSteps: ScriptStep[] = inst.map((s) => ({
    index: s.index,
    name: s.name,
    probe: s.type.probe(s.args),
    batch: s.type.batchProbe?.(s.args),
    pendingFile: handler(s),
    timeoutS: s.timeoutS,
  }));
  const marksOf = new Map<string, string[]>();
  for (const h of inst)
    for (const w of h.type.watches?.(h.args) ?? []) marksOf.set(w, [...(marksOf.get(w) ?? []), handler(h)!]);
  const apply: ApplyStep[] = inst.map((s) => {
    const probed: ProbeOutput | null = s.probed === null ? null : { text: s.probed, exitCode: 0 };
    let d: Decision = s.type.decide(s.args, s.type.probe(s.args) === null ? null : probed, {
      remoteUser: 'root',
      os: UNKNOWN_OS,
    });
    if (d.onChanged)
      d = { ...d, onChanged: { ...d.onChanged, steps: d.onChanged.steps.map((n) => String(byName.get(n))) } };
    return {
      index: s.index,
      name: s.name,
      probe: s.type.probe(s.args),
      decision: d,
      expected: s.probed,
      timeoutS: s.timeoutS,
      pendingFile: handler(s),
      marks: marksOf.get(s.name),
      settle: s.type.settle?.(s.args),
    };
  });
  return {
    probe: probeScript(NONCE, scriptSteps, opts.phaseLimitS ?? 0),
    apply: applyScript(
      NONCE,
      files,
      apply,
      new Set(opts.changedBefore ?? []),
      { hash: 'f'.repeat(64) },
      opts.startCs ?? null,
      new Map(opts.recorded ?? []),
      opts.phaseLimitS ?? 0,
    ),
  };
}

/** Every generated script by golden file name (relative to test/golden/). */
export function goldenScripts(): Record<string, string> {
  const root = '/srv/golden';
  const state = '/var/lib/vps-provision';
  const phase = phaseScripts(allSteps(root), state, { phaseLimitS: 600 });
  const resumed = phaseScripts(fileSteps(root), state, {
    changedBefore: [0],
    recorded: [
      [0, 'changed'],
      [1, 'ok'],
    ],
    startCs: 12345,
  });
  const files = runFiles(state);
  const monitor = { stateDir: state, runId: RUN_ID };
  return {
    'phase/probe.sh': phase.probe,
    'phase/apply.sh': phase.apply,
    'phase/apply-resumed.sh': resumed.apply,
    'phase/satisfied.sh': satisfiedPhaseScript(files, ['conf', 'line "two", 50%'], 'f'.repeat(64), 1234),
    'phase/checkpoint.sh': checkpointScript(files, 'f'.repeat(64)),
    'host/open-plan.sh': openSessionScript(NONCE, `${state}/it's`, null),
    'host/open-apply.sh': openSessionScript(
      NONCE,
      state,
      { runId: RUN_ID, holder: "ana@laptop (pid 1234) 'x'", since: '2026-11-28T02:21:00Z' },
      startMonitorCommand({ ...monitor, intervalS: 10, maxLifetimeS: 3600, host: 'web-1' }),
    ),
    'host/state-dir.sh': stateDirScript(NONCE),
    'host/release-lock.sh': releaseLockScript(`${state}/it's`, RUN_ID),
    'host/wait-for-script.sh': waitForScriptScript(4242, 10),
    'host/run-files.sh': runFilesScript(NONCE, `${state}/runs/${RUN_ID}`),
    'host/fetch-run.sh': fetchRunScript(NONCE, `${state}/runs`, undefined, '[0-9]{8}T[0-9]{6}Z-[0-9a-f]{16}'),
    'host/cat-file.sh': catFileScript(`${state}/runs/${RUN_ID}/timing.csv`),
    'host/reboot-required.sh': rebootRequiredScript(NONCE),
    'host/boot-state.sh': bootStateScript(NONCE, 120),
    'host/write-run-files.sh': writeRunFilesScript(`${state}/runs/${RUN_ID}`, {
      'run.json': '{"a":"it\'s"}\n',
      'controller-timing.csv': 'x,y\n',
    }),
    'host/prune-runs.sh': pruneRunsScript(state, 5, RUN_ID),
    'host/close.sh': closeSessionScript({
      nonce: NONCE,
      stateDir: state,
      runId: RUN_ID,
      files: { 'run.json': '{"a":"it\'s"}\n', 'controller-timing.csv': 'x,y\n' },
      monitor: true,
      keepRuns: 5,
    }),
    'host/source-probe.sh': sourceProbeScript(NONCE, [
      { urls: ['https://example.com/apt/dists/stable/InRelease', 'https://example.com/apt/dists/stable/Release'] },
      { urls: ["https://example.com/a b's.deb"] },
    ]),
    'monitor/start.sh': startMonitorCommand({ ...monitor, intervalS: 10, maxLifetimeS: 3600, host: 'web-1' }),
    'monitor/stop.sh': stopMonitorCommand(monitor, { waitS: 5 }),
    'monitor/status.sh': monitorStatusCommand(monitor),
    'monitor/read-samples.sh': readSamplesCommand(monitor, 3),
    'monitor/benchmark.sh': benchmarkCommand({
      workDir: `${state}/bench`,
      diskMb: 64,
      url: 'https://example.com/100MB.bin',
      maxTimeS: 20,
    }),
  };
}
