import { Controller, Get, Header, StreamableFile } from '@nestjs/common';
import { createReadStream } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** `public/` sits next to `src/` and to the compiled `dist/`, so this resolves from either. */
const PUBLIC_DIR = fileURLToPath(new URL('../../public/', import.meta.url));
/** The browser build of MQTT.js, straight from the installed package: no CDN, no bundler. */
const MQTT_BROWSER_BUNDLE = join(dirname(createRequire(import.meta.url).resolve('mqtt/package.json')), 'dist', 'mqtt.min.js');

/**
 * Serves the dashboard: five fixed files, so nothing else on disk is reachable. A real app would
 * likely use @nestjs/serve-static or a CDN; this keeps the sample free of both.
 */
@Controller()
export class DashboardController {
  @Get()
  @Header('Content-Type', 'text/html; charset=utf-8')
  index(): StreamableFile {
    return serve(join(PUBLIC_DIR, 'index.html'));
  }

  @Get('app.js')
  @Header('Content-Type', 'text/javascript; charset=utf-8')
  script(): StreamableFile {
    return serve(join(PUBLIC_DIR, 'app.js'));
  }

  @Get('style.css')
  @Header('Content-Type', 'text/css; charset=utf-8')
  style(): StreamableFile {
    return serve(join(PUBLIC_DIR, 'style.css'));
  }

  /** Browsers ask for an icon on every first visit; without one they log a 404. */
  @Get(['favicon.svg', 'favicon.ico'])
  @Header('Content-Type', 'image/svg+xml')
  @Header('Cache-Control', 'public, max-age=86400')
  favicon(): StreamableFile {
    return serve(join(PUBLIC_DIR, 'favicon.svg'));
  }

  @Get('vendor/mqtt.min.js')
  @Header('Content-Type', 'text/javascript; charset=utf-8')
  mqttClient(): StreamableFile {
    return serve(MQTT_BROWSER_BUNDLE);
  }
}

function serve(path: string): StreamableFile {
  return new StreamableFile(createReadStream(path));
}
