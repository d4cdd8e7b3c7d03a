// Reliability tests run the production build of the web app: build it once for the whole project.
import { buildWebApp } from "./helpers/web-app.ts";

export default async function setup() {
  await buildWebApp();
}
