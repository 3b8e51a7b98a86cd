// ~/.ssh/config resolution: table-driven cases, plus a cross-check of the same configs
// against what OpenSSH itself resolves (`ssh -G`, which prints the settings and exits).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../../src/errors.js';
import {
  globFiles,
  loadSshConfig,
  parseProxyJump,
  passwdHomeDir,
  resolveSshConfig,
  type SshSettings,
} from '../../src/config/ssh-config-resolver.js';

const HOME = '/home/ana';
const opts = {
  localUser: 'ana',
  homeDir: HOME,
  configPath: '/home/ana/.ssh/config',
  env: { AGENT_DIR: '/run/agent' },
  localHostName: 'vm.example',
  uid: 1000,
};

function resolve(alias: string, lines: string[]): SshSettings {
  return resolveSshConfig(alias, lines.join('\n'), opts);
}

describe('resolveSshConfig', () => {
  const base = { identityFiles: [], identitiesOnly: false };
  test.each<[string, string, string[], SshSettings]>([
    ['no config: the alias is the host name', 'Web1', [], { ...base, hostName: 'web1' }],
    [
      'alias with HostName, User, Port',
      'web',
      ['Host web', '  HostName 203.0.113.10', '  User deploy', '  Port 2222'],
      { ...base, hostName: '203.0.113.10', user: 'deploy', port: 2222 },
    ],
    [
      'first obtained value wins, IdentityFile accumulates in order',
      'web',
      [
        'User first',
        'Host web',
        '  User second',
        '  IdentityFile ~/.ssh/a',
        'Host *',
        '  User third',
        '  Port 2200',
        '  IdentityFile ~/.ssh/b',
      ],
      { ...base, hostName: 'web', user: 'first', port: 2200, identityFiles: [`${HOME}/.ssh/a`, `${HOME}/.ssh/b`] },
    ],
    ['? matches exactly one character', 'web-10', ['Host web-?', '  User one'], { ...base, hostName: 'web-10' }],
    ['? matches one', 'web-1', ['Host web-?', '  User one'], { ...base, hostName: 'web-1', user: 'one' }],
    ['negation vetoes the line', 'bastion', ['Host * !bastion', '  User x'], { ...base, hostName: 'bastion' }],
    ['negation lets others through', 'web', ['Host * !bastion', '  User x'], { ...base, hostName: 'web', user: 'x' }],
    [
      'several patterns on one Host line',
      'db',
      ['Host web db', '  Port 2201'],
      { ...base, hostName: 'db', port: 2201 },
    ],
    ['Host patterns are case-sensitive, like ssh', 'WEB', ['Host web', '  Port 2201'], { ...base, hostName: 'web' }],
    [
      'HostName %h, lowercased; keywords case-insensitive; = separator',
      'Web1',
      ['host=Web*', '  hostname=%h.Example.COM', '  PORT 2200'],
      { ...base, hostName: 'web1.example.com', port: 2200 },
    ],
    [
      'tokens and ${VAR} in paths',
      'web',
      [
        'Host web',
        '  HostName web.example.com',
        '  User deploy',
        '  IdentityFile ~/.ssh/%r@%h-%u-%p-%n-%%',
        '  IdentityFile %d/keys/id',
        '  IdentityAgent ${AGENT_DIR}/%h.sock',
        '  UserKnownHostsFile ~/.ssh/kh_%h "/tmp/with space"',
      ],
      {
        ...base,
        hostName: 'web.example.com',
        user: 'deploy',
        identityFiles: [`${HOME}/.ssh/deploy@web.example.com-ana-22-web-%`, `${HOME}/keys/id`],
        identityAgent: '/run/agent/web.example.com.sock',
        userKnownHostsFiles: [`${HOME}/.ssh/kh_web.example.com`, '/tmp/with space'],
      },
    ],
    [
      '%r is the local user when no User is set',
      'w',
      ['IdentityFile /k/%r'],
      { ...base, hostName: 'w', identityFiles: ['/k/ana'] },
    ],
    [
      'quoted IdentityFile with a space',
      'w',
      ['IdentityFile "~/my key"'],
      { ...base, hostName: 'w', identityFiles: [`${HOME}/my key`] },
    ],
    [
      'IdentitiesOnly, IdentityAgent none, StrictHostKeyChecking, ConnectTimeout',
      'w',
      ['IdentitiesOnly yes', 'IdentityAgent none', 'StrictHostKeyChecking accept-new', 'ConnectTimeout 1m30s'],
      {
        ...base,
        hostName: 'w',
        identitiesOnly: true,
        identityAgent: 'none',
        strictHostKeyChecking: 'accept-new',
        connectTimeoutS: 90,
      },
    ],
    [
      'IdentityAgent SSH_AUTH_SOCK kept literally',
      'w',
      ['IdentityAgent SSH_AUTH_SOCK'],
      { ...base, hostName: 'w', identityAgent: 'SSH_AUTH_SOCK' },
    ],
    [
      'StrictHostKeyChecking true means yes',
      'w',
      ['StrictHostKeyChecking true'],
      { ...base, hostName: 'w', strictHostKeyChecking: 'yes' },
    ],
    [
      'StrictHostKeyChecking off',
      'w',
      ['StrictHostKeyChecking OFF'],
      { ...base, hostName: 'w', strictHostKeyChecking: 'off' },
    ],
    ['UserKnownHostsFile none', 'w', ['UserKnownHostsFile none'], { ...base, hostName: 'w', userKnownHostsFiles: [] }],
    [
      'ProxyJump raw',
      'w',
      ['ProxyJump user@bastion:2222,other'],
      { ...base, hostName: 'w', proxyJump: 'user@bastion:2222,other' },
    ],
    [
      'ProxyJump none obtained first disables a later one',
      'w',
      ['Host w', '  ProxyJump none', 'Host *', '  ProxyJump b'],
      { ...base, hostName: 'w' },
    ],
    [
      'Match blocks are ignored (out of scope), up to the next Host',
      'w',
      ['Match host w', '  User matched', '  Port 1', 'Host *', '  User hosted'],
      { ...base, hostName: 'w', user: 'hosted' },
    ],
    [
      'Match exec is never run',
      'w',
      ['Match exec "touch /tmp/vps-provision-must-not-exist"', '  User x'],
      { ...base, hostName: 'w' },
    ],
    [
      'comments and blank lines',
      'w',
      ['# comment', '', 'Host w # trailing', '  User u # trailing'],
      { ...base, hostName: 'w', user: 'u' },
    ],
    // readconf.c's argv_split: quotes anywhere in a word, escapes, # only at a word's start
    [
      'single quotes are stripped',
      'w',
      ["User 'ann'", "IdentityFile '/k/a b'"],
      { ...base, hostName: 'w', user: 'ann', identityFiles: ['/k/a b'] },
    ],
    [
      'quotes inside a word',
      'w',
      ['User a"n"n', 'IdentityFile /k/"x y"z'],
      { ...base, hostName: 'w', user: 'ann', identityFiles: ['/k/x yz'] },
    ],
    [
      '# inside a word is part of it',
      'w',
      ['User a#b', 'IdentityFile /k/id#1 # comment'],
      { ...base, hostName: 'w', user: 'a#b', identityFiles: ['/k/id#1'] },
    ],
    [
      'backslash escapes',
      'w',
      ['IdentityFile /k/a\\ b', 'User a\\"b'],
      { ...base, hostName: 'w', user: 'a"b', identityFiles: ['/k/a b'] },
    ],
    [
      '= only at the keyword',
      'w',
      ['IdentityFile=/k/a=b', 'User = u=v'],
      { ...base, hostName: 'w', user: 'u=v', identityFiles: ['/k/a=b'] },
    ],
    ['Port by service name', 'w', ['Port ssh'], { ...base, hostName: 'w', port: 22 }],
    [
      'IdentityAgent $NAME takes that variable',
      'w',
      ['IdentityAgent $AGENT_DIR'],
      { ...base, hostName: 'w', identityAgent: '/run/agent' },
    ],
    [
      'IdentityAgent $NAME unset: no agent',
      'w',
      ['IdentityAgent $NOT_SET'],
      { ...base, hostName: 'w', identityAgent: 'none' },
    ],
    [
      'the same IdentityFile twice is offered once',
      'w',
      ['IdentityFile /k/a', 'IdentityFile /k/a'],
      { ...base, hostName: 'w', identityFiles: ['/k/a'] },
    ],
    [
      '~ alone is the home with a slash, as ssh',
      'w',
      ['UserKnownHostsFile ~'],
      { ...base, hostName: 'w', userKnownHostsFiles: [`${HOME}/`] },
    ],
    [
      '%i %l %L %C %k',
      'Web',
      ['UserKnownHostsFile /k/%i_%l_%L_%k /k/%C'],
      {
        ...base,
        hostName: 'web',
        userKnownHostsFiles: [
          '/k/1000_vm.example_vm_Web',
          `/k/${createHash('sha1')
            .update('vm.example' + 'web' + '22' + 'ana')
            .digest('hex')}`,
        ],
      },
    ],
    [
      'GlobalKnownHostsFile: only ~ is expanded (ssh 9.2)',
      'w',
      ['GlobalKnownHostsFile ~/g /g/%h'],
      { ...base, hostName: 'w', globalKnownHostsFiles: [`${HOME}/g`, '/g/%h'] },
    ],
    ['ConnectTimeout 0 means no limit', 'w', ['ConnectTimeout 0'], { ...base, hostName: 'w', connectTimeoutS: 0 }],
  ])('%s', (_name, alias, lines, expected) => {
    expect(resolve(alias, lines)).toEqual(expected);
  });

  test.each([
    ['unclosed quote', ['Host w', '  IdentityFile "~/.ssh/a'], 2],
    ['bad port', ['Host w', '', '  Port 22x'], 3],
    ['bad port in a block that does not apply (ssh checks every line)', ['Host other', '  Port 0'], 2],
    ['missing value', ['Port'], 1],
    ['Host without pattern', ['Host'], 1],
    ['extra arguments', ['User a b'], 1],
    ['bad yes/no', ['IdentitiesOnly maybe'], 1],
    ['bad StrictHostKeyChecking', ['StrictHostKeyChecking sometimes'], 1],
    ['bad time', ['ConnectTimeout soon'], 1],
    ['unsupported token (%j is not in ssh 9.2)', ['IdentityFile ~/.ssh/%j'], 1],
    ['unset environment variable', ['IdentityFile ${NOPE}/id'], 1],
    ['unset variable in IdentityAgent, in a block that does not apply', ['Host other', '  IdentityAgent ${NOPE}/a'], 2],
    ['lone % at the end', ['UserKnownHostsFile /k/%'], 1],
    ['unknown token in HostName (only %h there)', ['HostName %u.example'], 1],
    ['bad ProxyJump, in a block that does not apply', ['Host other', '  ProxyJump a:b:c'], 2],
    ['none not alone', ['UserKnownHostsFile none /k'], 1],
    ['empty quoted Host pattern', ['Host ""'], 1],
    ['~user path', ['IdentityFile ~bob/id'], 1],
  ])('%s: ConfigError naming file and line', (_name, lines, line) => {
    let error: unknown;
    try {
      resolve('w', lines);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect(error).toMatchObject({ file: opts.configPath, line });
    expect((error as ConfigError).message).toContain(`${opts.configPath} line ${line}`);
    expect((error as ConfigError).hint).not.toBe('');
  });
});

describe('parseProxyJump', () => {
  test.each([
    ['bastion', [{ host: 'bastion' }]],
    ['user@bastion:2222,other', [{ user: 'user', host: 'bastion', port: 2222 }, { host: 'other' }]],
    ['ssh://u@b:23/', [{ user: 'u', host: 'b', port: 23 }]],
    ['me@corp@bastion', [{ user: 'me@corp', host: 'bastion' }]],
    ['[2001:db8::1]:2222', [{ host: '2001:db8::1', port: 2222 }]],
    ['bastion:', [{ host: 'bastion' }]],
    ['h:ssh', [{ host: 'h', port: 22 }]],
    ['a#comment', [{ host: 'a' }]],
    ['none', []],
  ])('%s', (spec, hops) => {
    expect(parseProxyJump(spec)).toEqual(hops);
  });

  test.each(['bastion:99999', '2001:db8::1', 'u@h/2222', 'ssh://h/x', '@bastion', 'a,,b'])(
    '%s is a ConfigError',
    (spec) => {
      expect(() => parseProxyJump(spec)).toThrow(ConfigError);
    },
  );
});

describe('loadSshConfig with Include', () => {
  let home: string;
  beforeAll(() => {
    home = mkdtempSync(join(tmpdir(), 'ssh-config-test-'));
    mkdirSync(join(home, '.ssh', 'conf.d'), { recursive: true });
    writeFileSync(join(home, '.ssh', 'conf.d', '20-web.conf'), 'Host web\n  User from-20\n');
    writeFileSync(join(home, '.ssh', 'conf.d', '10-web.conf'), 'Host web\n  HostName web.internal\n  User from-10\n');
    writeFileSync(join(home, '.ssh', 'conf.d', '.hidden.conf'), 'Host web\n  Port 1\n');
    writeFileSync(join(home, '.ssh', 'inner'), 'Port 2022\nHost nomatch\n  User never\n');
    writeFileSync(join(home, '.ssh', 'bad'), 'User ok\nHost\n');
  });
  afterAll(() => rmSync(home, { recursive: true, force: true }));

  function load(config: string[]) {
    const path = join(home, '.ssh', 'config');
    writeFileSync(path, config.join('\n'));
    const loaded = loadSshConfig(path, home);
    return (alias: string) =>
      resolveSshConfig(alias, loaded.text, {
        localUser: 'ana',
        homeDir: home,
        configPath: path,
        includes: loaded.includes,
      });
  }

  test('relative to ~/.ssh, glob sorted, dotfiles skipped, first value wins', () => {
    const settings = load(['Include conf.d/*.conf', 'Host *', '  User last'])('web');
    expect(settings).toMatchObject({ hostName: 'web.internal', user: 'from-10' });
    expect(settings.port).toBeUndefined();
  });

  test('Include inside a Host block applies only to that block; state is restored after it', () => {
    const resolveFor = load(['Host web', '  Include inner', '  User web-user', 'Host *', '  User star']);
    // inner's "Host nomatch" closes its block, but after the Include the web block goes on.
    expect(resolveFor('web')).toMatchObject({ port: 2022, user: 'web-user' });
    expect(resolveFor('db')).toMatchObject({ user: 'star' });
    expect(resolveFor('db').port).toBeUndefined();
  });

  test('~ paths and missing files', () => {
    expect(load(['Include ~/.ssh/inner ~/.ssh/none-such'])('x')).toMatchObject({ port: 2022 });
  });

  test('a syntax error in an included file names that file and line', () => {
    expect(() => load(['Include bad'])).toThrow(expect.objectContaining({ file: join(home, '.ssh', 'bad'), line: 2 }));
  });

  test("each included file starts in the Include line's state (a file ending in another host's block hides nothing)", () => {
    writeFileSync(
      join(home, '.ssh', 'conf.d', '30-defaults.conf'),
      'User alice\nPort 2222\nIdentityFile ~/.ssh/id_work\n',
    );
    const settings = load(['Include conf.d/[12]0-web.conf "conf.d/3*.conf"'])('db');
    expect(settings).toMatchObject({ user: 'alice', port: 2222, identityFiles: [`${home}/.ssh/id_work`] });
    // the same with one file per Include argument
    expect(load(['Include conf.d/20-web.conf conf.d/30-defaults.conf'])('db')).toMatchObject({
      user: 'alice',
      port: 2222,
    });
    rmSync(join(home, '.ssh', 'conf.d', '30-defaults.conf'));
  });

  test('a file included from a block that does not apply is read for syntax only: its Host lines never match', () => {
    writeFileSync(join(home, '.ssh', 'star'), 'Host *\n  User from-star\n');
    expect(load(['Host other', '  Include star', 'Host *', '  Port 2'])('db')).toMatchObject({ port: 2 });
    expect(load(['Host other', '  Include star'])('db').user).toBeUndefined();
  });

  test('a file including itself stops with a ConfigError', () => {
    writeFileSync(join(home, '.ssh', 'loop'), 'Include loop\n');
    expect(() => load(['Include loop'])('x')).toThrow(/nested too deeply/);
  });

  test('missing config file reads as empty', () => {
    expect(loadSshConfig(join(home, 'nope'), home)).toMatchObject({ text: '' });
  });

  test('globFiles', () => {
    const names = (pattern: string) =>
      globFiles(join(home, '.ssh', 'conf.d', pattern)).map((p) => p.slice(home.length));
    expect(names('?0-*.conf')).toEqual(['/.ssh/conf.d/10-web.conf', '/.ssh/conf.d/20-web.conf']);
    expect(names('[12]0-*')).toEqual(['/.ssh/conf.d/10-web.conf', '/.ssh/conf.d/20-web.conf']);
    expect(names('[!1]0-*')).toEqual(['/.ssh/conf.d/20-web.conf']);
    expect(names('[a-z]*')).toEqual([]);
  });

  test('~ and %d are the passwd home, not $HOME (tests alone may ask for $HOME)', () => {
    expect(passwdHomeDir({ HOME: '/elsewhere' })).toBe(userInfo().homedir);
    expect(passwdHomeDir({ HOME: '/elsewhere', VPS_PROVISION_TEST_HOME_FROM_ENV: '1' })).toBe('/elsewhere');
  });
});

// The same answers as OpenSSH: `ssh -G -F file alias` prints what ssh would use.
describe('cross-check with ssh -G', () => {
  const me = userInfo(); // ssh takes the user and home from the password database
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'ssh-g-test-'));
    writeFileSync(join(dir, 'included'), 'Host inc*\n  User included\n  Port 2300\n');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const configs: [string, string[]][] = [
    [
      'web',
      [
        'Host web',
        '  HostName 203.0.113.10',
        '  User deploy',
        '  Port 2222',
        '  IdentityFile ~/.ssh/a',
        'Host *',
        '  IdentityFile ~/.ssh/b',
      ],
    ],
    [
      'Web1',
      [
        'Host Web* !Webx',
        '  HostName %h.Example.COM',
        '  StrictHostKeyChecking yes',
        '  ConnectTimeout 1m30s',
        'Host *',
        '  Port 2200',
        '  StrictHostKeyChecking no',
      ],
    ],
    ['Webx', ['Host Web* !Webx', '  HostName %h.Example.COM', 'Host *', '  Port 2200']],
    ['web-10', ['Host web-?', '  User one', 'Host web-??', '  User two']],
    [
      'w',
      [
        'User first',
        'Host w',
        '  User second',
        '  ProxyJump ana@bastion:2222,other',
        '  UserKnownHostsFile ~/kh_%h %d/kh2',
      ],
    ],
    [
      'w',
      [
        'Host w',
        '  ProxyJump none',
        '  IdentitiesOnly yes',
        '  IdentityAgent ~/agent-%h.sock',
        '  StrictHostKeyChecking accept-new',
        'Host *',
        '  ProxyJump b',
      ],
    ],
    ['w', ['hostname=10.0.0.1', 'PORT=2201', 'StrictHostKeyChecking off', 'UserKnownHostsFile none']],
    ['include-me', ['Include INCLUDED', 'Host *', '  User star']],
    ['other', ['Include INCLUDED', 'Host *', '  User star']],
  ];

  test.each(configs)('%s', (alias, lines) => {
    const path = join(dir, 'config');
    writeFileSync(path, lines.join('\n').replace('INCLUDED', join(dir, 'included')) + '\n');
    const ssh = sshG(path, alias);
    const loaded = loadSshConfig(path, me.homedir);
    const ours = resolveSshConfig(alias, loaded.text, {
      localUser: me.username,
      homeDir: me.homedir,
      configPath: path,
      includes: loaded.includes,
      env: {},
    });

    expect(ours.hostName).toBe(ssh.hostname);
    expect(ours.user ?? me.username).toBe(ssh.user);
    expect(String(ours.port ?? 22)).toBe(ssh.port);
    expect(ours.identitiesOnly ? 'yes' : 'no').toBe(ssh.identitiesonly);
    expect(ours.proxyJump).toBe(ssh.proxyjump);
    expect(ours.identityAgent).toBe(ssh.identityagent);
    expect(String(ours.connectTimeoutS ?? 'none')).toBe(ssh.connecttimeout);
    const strict = { yes: 'true', no: 'false', off: 'false', ask: 'ask', 'accept-new': 'accept-new' };
    expect(strict[ours.strictHostKeyChecking ?? 'ask']).toBe(ssh.stricthostkeychecking);
    if (ours.userKnownHostsFiles) expect(ours.userKnownHostsFiles.join(' ') || 'none').toBe(ssh.userknownhostsfile);
    // ssh -G prints IdentityFile unexpanded and adds its defaults when none is set.
    if (ours.identityFiles.length > 0) expect(ours.identityFiles.length).toBe(ssh.identityfileCount);
  });

  function sshG(path: string, alias: string): Record<string, string> & { identityfileCount: number } {
    const out = execFileSync('ssh', ['-G', '-F', path, alias], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const result: Record<string, string> = {};
    let identityfileCount = 0;
    for (const line of out.split('\n')) {
      const space = line.indexOf(' ');
      if (space < 0) continue;
      const key = line.slice(0, space);
      if (key === 'identityfile') identityfileCount++;
      result[key] ??= line.slice(space + 1);
    }
    return Object.assign(result, { identityfileCount });
  }
});

describe('the system file (/etc/ssh/ssh_config) after the user file', () => {
  const system = (lines: string[], includes = new Map()) => ({
    configPath: '/etc/ssh/ssh_config',
    text: lines.join('\n'),
    includes,
    includeBase: '/etc/ssh',
  });

  test('values from the user file win; the system file fills the rest; each file starts outside any Host block', () => {
    const s = resolveSshConfig('web', ['Host web', '  User deploy', 'Host other', '  Port 1'].join('\n'), {
      ...opts,
      system: system([
        'Port 2222',
        'User root',
        'HashKnownHosts yes',
        'StrictHostKeyChecking accept-new',
        'GlobalKnownHostsFile /etc/ssh/a ~/b',
        'Host nothere',
        '  IdentityFile /x',
      ]),
    });
    expect(s).toMatchObject({
      user: 'deploy',
      port: 2222,
      hashKnownHosts: true,
      strictHostKeyChecking: 'accept-new',
      globalKnownHostsFiles: ['/etc/ssh/a', `${HOME}/b`],
      identityFiles: [],
    });
  });

  test('user file settings of the known_hosts options win too; GlobalKnownHostsFile none is empty', () => {
    const s = resolveSshConfig('web', 'HashKnownHosts no\nStrictHostKeyChecking yes\nGlobalKnownHostsFile none\n', {
      ...opts,
      system: system(['HashKnownHosts yes', 'StrictHostKeyChecking no', 'GlobalKnownHostsFile /etc/ssh/g']),
    });
    expect(s).toMatchObject({ hashKnownHosts: false, strictHostKeyChecking: 'yes', globalKnownHostsFiles: [] });
  });

  test('relative Include paths of the system file are under its folder', () => {
    const dir = mkdtempSync(join(tmpdir(), 'etc-ssh-'));
    mkdirSync(join(dir, 'ssh_config.d'));
    writeFileSync(join(dir, 'ssh_config'), 'Include ssh_config.d/*.conf\n');
    writeFileSync(join(dir, 'ssh_config.d', '10-port.conf'), 'Port 2022\n');
    const loaded = loadSshConfig(join(dir, 'ssh_config'), HOME, dir);
    expect(resolveSshConfig('web', '', { ...opts, system: loaded })).toMatchObject({ port: 2022 });
    rmSync(dir, { recursive: true, force: true });
  });

  test('HashKnownHosts takes yes or no', () => {
    expect(() => resolve('web', ['HashKnownHosts maybe'])).toThrow(
      /line 1: hashknownhosts takes yes or no, got 'maybe'/,
    );
  });
});
