import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import express, { type Router } from 'express';
import { loadOpenApi, type JsonObject } from '../../kernel/openapi.ts';
import { loadAsyncApi } from '../chat/ws/protocol.ts';
import { createServedSpec, type CapabilitiesSource } from './served-spec.ts';

export interface DocsRouterDeps {
  /** The repository root: openapi/ and schemas/ are read from it. */
  readonly rootDir: string;
  /** The bundled document when the caller already has it; else loaded from `rootDir`. */
  readonly openapi?: JsonObject;
  /** The loaded connectors' capabilities: POST /v1/query's body is narrowed to them. */
  readonly capabilities?: CapabilitiesSource;
}

// Only what the page loads; the package also ships a demo page pointing at the internet.
const ASSETS = new Set(['swagger-ui.css', 'swagger-ui-bundle.js', 'favicon-32x32.png', 'favicon-16x16.png']);
const ASSET_MAX_AGE_MS = 24 * 60 * 60 * 1000;

// The spec URL travels in a data attribute so that this script, and so its CSP hash, never changes.
const INIT_SCRIPT = `window.addEventListener('load', function () {
  var root = document.getElementById('swagger-ui');
  window.ui = SwaggerUIBundle({ url: root.dataset.url, domNode: root, deepLinking: true, validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis], layout: 'BaseLayout' });
});`;

// swagger-ui sets inline styles and data: images; everything else comes from this origin.
const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  `script-src 'self' 'sha256-${createHash('sha256').update(INIT_SCRIPT).digest('base64')}'`,
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * GET /openapi.json (the bundled document, POST /v1/query narrowed to the declared capabilities),
 * GET /asyncapi.json (the chat socket's protocol) and GET /docs (the first, rendered by swagger-ui, offline).
 */
export function createDocsRouter({ rootDir, openapi, capabilities }: DocsRouterDeps): Router {
  const body = createServedSpec(openapi ?? loadOpenApi(rootDir), capabilities);
  // The package's own resolver; requiring its index would load the whole browser bundle.
  const getAbsoluteFSPath = createRequire(import.meta.url)('swagger-ui-dist/absolute-path.js') as () => string;
  const assetsDir = getAbsoluteFSPath();
  const router = express.Router();

  router.get('/openapi.json', (_req, res) => {
    res.type('application/json').send(body());
  });

  // The chat socket's protocol (AsyncAPI 3.0), as JSON like this document.
  const asyncapi = JSON.stringify(loadAsyncApi(rootDir));
  router.get('/asyncapi.json', (_req, res) => {
    res.type('application/json').send(asyncapi);
  });

  router.get('/docs', (req, res) => {
    res.set({ 'Content-Security-Policy': CONTENT_SECURITY_POLICY, 'X-Content-Type-Options': 'nosniff', 'Referrer-Policy': 'no-referrer' });
    res.type('html').send(page(req.baseUrl));
  });

  router.get('/docs/assets/:file', (req, res, next) => {
    if (!ASSETS.has(req.params.file)) return next();
    res.set('X-Content-Type-Options', 'nosniff');
    res.sendFile(req.params.file, { root: assetsDir, maxAge: ASSET_MAX_AGE_MS });
  });

  return router;
}

function page(base: string): string {
  return `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Omnigate API</title>
  <link rel="stylesheet" href="${base}/docs/assets/swagger-ui.css">
  <link rel="icon" type="image/png" href="${base}/docs/assets/favicon-32x32.png" sizes="32x32">
</head>
<body>
  <div id="swagger-ui" data-url="${base}/openapi.json"></div>
  <script src="${base}/docs/assets/swagger-ui-bundle.js"></script>
  <script>${INIT_SCRIPT}</script>
</body>
</html>
`;
}
