/**
 * SVG to PNG with resvg (`@resvg/resvg-js`: Rust resvg through napi-rs; prebuilt binaries come as
 * npm optional packages, nothing is downloaded at install, no system library or font needed).
 * Text uses the bundled Inter (assets/fonts, SIL OFL 1.1): the Docker image has no system fonts,
 * and system fonts are never loaded, so the PNG is the same on every machine.
 */
import { fileURLToPath } from "node:url";

/** assets/ sits two levels above this file both in src/timeline and in dist/timeline. */
export const TIMELINE_FONT = fileURLToPath(new URL("../../assets/fonts/Inter-Regular.ttf", import.meta.url));

export interface PngOptions {
  /** Output width in pixels (default: the SVG's own width). */
  width?: number;
}

/** Rasterise on libuv's thread pool (the bot's event loop stays free). */
export async function svgToPng(svg: string, o: PngOptions = {}): Promise<Buffer> {
  const { renderAsync } = await import("@resvg/resvg-js");
  const img = await renderAsync(svg, {
    font: { fontFiles: [TIMELINE_FONT], loadSystemFonts: false, defaultFontFamily: "Inter" },
    ...(o.width ? { fitTo: { mode: "width" as const, value: o.width } } : {}),
    shapeRendering: 2,
    textRendering: 1,
  });
  return Buffer.from(img.asPng());
}
