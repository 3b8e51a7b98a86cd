// Step types by their YAML key. A step type id equals its YAML key and its file name.
import type { AnyStepType } from './step-type.js';
import { commandStep } from './command.js';
import { fileStep } from './file.js';
import { lineStep } from './line.js';
import { aptStep } from './apt.js';
import { serviceStep } from './service.js';
import { userStep } from './user.js';
import { rdpCheckStep } from './rdp-check.js';
import { aptRepoStep } from './apt-repo.js';
import { debStep } from './deb.js';
import { assertStep } from './assert.js';

export const STEP_TYPES: ReadonlyMap<string, AnyStepType> = new Map(
  [commandStep, fileStep, lineStep, aptStep, serviceStep, userStep, rdpCheckStep, aptRepoStep, debStep, assertStep].map(
    (t) => [t.id, t],
  ),
);
