// Benchmark runner for @11ty/eleventy-img (bench/peer.py copies it into
// bench/.cache/peer/ next to node_modules and runs it there).
//
//   node run.mjs JOBS.json OUTDIR [--formats jpeg,webp] [--quality 90] [--concurrency N]
//
// JOBS.json: [{"src": "/abs/path.jpg", "widths": [160, 400, 1280]}, ...]
// (the widths of each source are already filtered: none is larger than the
// source, see bench/corpus.py plan_widths). All sources are queued at once,
// as an Eleventy build does; eleventy-img's own queue bounds the concurrency.
// Prints nothing but one JSON summary line on stdout (times in ms, sizes in
// bytes); exits 1 if any source failed.
import os from "node:os";
import fs from "node:fs";
import Image from "@11ty/eleventy-img";
import sharp from "sharp";

const args = process.argv.slice(2);
const positional = [];
const opts = { formats: "jpeg,webp", quality: "90", concurrency: String(os.cpus().length) };
for (let i = 0; i < args.length; i++) {
  if (args[i].startsWith("--")) opts[args[i].slice(2)] = args[++i];
  else positional.push(args[i]);
}
if (positional.length !== 2) {
  process.stderr.write("usage: node run.mjs JOBS.json OUTDIR [--formats jpeg,webp] [--quality 90] [--concurrency N]\n");
  process.exit(2);
}
const [jobsFile, outputDir] = positional;
const jobs = JSON.parse(fs.readFileSync(jobsFile, "utf8"));
const formats = opts.formats.split(",");
const quality = parseInt(opts.quality, 10);

Image.concurrency = parseInt(opts.concurrency, 10);

const t0 = performance.now();
const byFormat = {};
const failures = [];
const files = [];          // every output: {src, path, format, width} (bench/quality.py scores them)
await Promise.all(jobs.map(async (job) => {
  if (!job.widths.length) return;
  try {
    const stats = await Image(job.src, {
      widths: job.widths,
      formats,
      outputDir,
      useCache: false,          // no in-memory or disk cache: every output is encoded
      formatFiltering: [],      // also write jpeg for sources with alpha, like the others
      sharpJpegOptions: { quality },
      sharpWebpOptions: { quality },
      sharpAvifOptions: { quality },
    });
    for (const [fmt, list] of Object.entries(stats)) {
      const c = (byFormat[fmt] ??= { count: 0, bytes: 0 });
      for (const s of list) {
        c.count += 1; c.bytes += s.size;
        files.push({ src: job.src, path: s.outputPath, format: fmt, width: s.width });
      }
    }
  } catch (e) {
    failures.push({ src: job.src, error: String(e && e.message || e) });
  }
}));
const elapsed_ms = performance.now() - t0;

const pkg = JSON.parse(fs.readFileSync(new URL("./node_modules/@11ty/eleventy-img/package.json", import.meta.url), "utf8"));
process.stdout.write(JSON.stringify({
  tool: "@11ty/eleventy-img",
  version: pkg.version,
  sharp: sharp.versions.sharp,
  libvips: sharp.versions.vips,
  node: process.version,
  eleventy_img_concurrency: Image.concurrency,
  sharp_concurrency: sharp.concurrency(),   // libvips threads per image
  uv_threadpool_size: process.env.UV_THREADPOOL_SIZE || "4 (default)",
  sources: jobs.length,
  formats,
  quality,
  by_format: byFormat,
  outputs: Object.values(byFormat).reduce((a, c) => a + c.count, 0),
  bytes: Object.values(byFormat).reduce((a, c) => a + c.bytes, 0),
  elapsed_ms,
  failures,
  files,
}) + "\n");
process.exit(failures.length ? 1 : 0);
