// zod/mini with zod's English messages: every schema of the project is built from here.
// zod/mini is zod's core (same checks, issues and messages as `zod`) with a functional API
// a bundler can cut down to what is used: the classic `zod` chunk cost ~60-90 ms of CPU at
// every start-up that reads an inventory or a playbook. Unlike `zod`, it sets no locale by
// itself (every message would read "Invalid input"): English is set once, here, before any
// schema exists, from its own file so the bundle carries no other language.
import { config } from 'zod/mini';
import en from 'zod/v4/locales/en.js';

config(en());

export * from 'zod/mini';
