// Fails when src/openapi.ts is not what openapi-typescript generates from
// ../../openapi.yaml: run `npm run generate` and commit.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const dir = mkdtempSync(join(tmpdir(), "portcullis-openapi-"));
try {
  const out = join(dir, "openapi.ts");
  execFileSync(process.execPath, ["node_modules/openapi-typescript/bin/cli.js", "../../openapi.yaml", "-o", out], { stdio: "ignore" });
  if (readFileSync(out, "utf8") !== readFileSync("src/openapi.ts", "utf8")) {
    console.error("src/openapi.ts is stale: run `npm run generate` in clients/js and commit it");
    process.exit(1);
  }
  console.log("src/openapi.ts matches openapi.yaml");
} finally {
  rmSync(dir, { recursive: true, force: true });
}
