// The import boundaries of eslint.config.js refuse an import against the pipeline's
// direction (docs/ARCHITECTURE.md), and let the allowed ones through.
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const eslint = new ESLint();

async function boundaryErrors(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  return result!.messages.filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

describe('import boundaries', () => {
  it('refuses imports against the pipeline direction, at every folder depth', async () => {
    const refused: [string, string, RegExp][] = [
      ['src/tasks/x.ts', "import { runHost } from '../engine/run.js';", /src\/tasks must not import src\/engine/],
      ['src/tasks/shared/x.ts', "import { main } from '../../cli/main.js';", /src\/tasks must not import src\/cli/],
      ['src/facts/x.ts', "import { fileTask } from '../tasks/file.js';", /src\/facts must not import src\/tasks/],
      ['src/report/x.ts', "import type { ScriptRunner } from '../engine/run.js';", /src\/report must not import src\/engine/],
      ['src/modules/gateway/x.ts', "import { loadRun } from '../../engine/runPlaybook.js';", /src\/modules must not import src\/engine/],
      ['src/engine/x.ts', "import { labUp } from '../lab/seedLab.js';", /src\/engine must not import src\/lab/],
      ['src/cli/run.ts', "import { labUp } from '../lab/seedLab.js';", /src\/cli must not import src\/lab/],
      ['src/index.ts', "import { main } from './cli/main.js';", /src\/index.ts must not import src\/cli/],
      ['src/engine/x.ts', "import { plan } from '../api/run.js';", /src\/engine must not import src\/api/],
      ['src/api/x.ts', "import { main } from '../cli/main.js';", /src\/api must not import src\/cli/],
    ];
    for (const [file, code, message] of refused) {
      expect(await boundaryErrors(file, code), `${file}: ${code}`).toEqual([expect.stringMatching(message)]);
    }
  });

  it('lets the pipeline direction through', async () => {
    const allowed: [string, string][] = [
      ['src/tasks/shared/x.ts', "import type { Step } from '../types.js';"],
      ['src/tasks/x.ts', "import type { HostFacts } from '../facts/types.js';"],
      ['src/modules/gateway/x.ts', "import { keyFileOf } from '../../tasks/wireguardInterface.js';"],
      ['src/engine/x.ts', "import { findTask } from '../catalog.js';"],
      ['src/cli/lab.ts', "import { labUp } from '../lab/seedLab.js';"],
      ['src/cli/main.ts', "import { labCommand } from './lab.js';"],
      ['src/api/run.ts', "import { loadRun } from '../engine/runPlaybook.js';"],
    ];
    for (const [file, code] of allowed) expect(await boundaryErrors(file, code), `${file}: ${code}`).toEqual([]);
  });
});
