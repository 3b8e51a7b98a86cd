// What report.html inlines besides its markup and data: the style sheet (a plain .css
// file in the source tree, shipped with the package like the monitor scripts), the
// page script (compiled by tsc, taken as the text of its function) and Chart.js.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { packageRoot } from '../../monitor/script-files.js';
import { pageScript } from './page-script.js';

let css: string | undefined;
let chartJs: string | undefined;

/** src/report/page/report.css, read once. */
export function pageCss(): string {
  if (css === undefined) {
    const path = join(packageRoot(), 'src', 'report', 'page', 'report.css');
    try {
      css = readFileSync(path, 'utf8');
    } catch (err) {
      throw new Error(`vps-provision: cannot read ${path}; the package must ship src/report/page/report.css`, {
        cause: err,
      });
    }
  }
  return css;
}

/** The Chart.js UMD build, read once from node_modules (its source map link removed). */
export function chartJsSource(): string {
  if (chartJs === undefined) {
    const require = createRequire(import.meta.url);
    // the package exports only its entry points; the UMD file sits next to the CJS one
    const file = join(dirname(require.resolve('chart.js')), 'chart.umd.min.js');
    chartJs = readFileSync(file, 'utf8').replace(/\/\/# sourceMappingURL=\S*/g, '');
  }
  return chartJs;
}

/** The compiled page script: a function of (data, Chart). */
export function pageScriptSource(): string {
  return pageScript.toString();
}
