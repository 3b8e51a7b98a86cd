// Probe: is the package a `deb` step installs there (and which version). The same
// dpkg-query reading as the apt step's.
import { packagesProbe, parsePackages } from './packages.js';

export interface DebPackageState {
  installed: boolean;
  version?: string;
}

export function debPackageProbe(pkg: string): string {
  return packagesProbe([pkg]);
}

export function parseDebPackage(text: string, pkg: string): DebPackageState {
  const s = parsePackages(text).get(pkg);
  return s?.installed ? { installed: true, version: s.version } : { installed: false };
}
