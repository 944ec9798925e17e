import { pathToFileURL } from "node:url";

// The CommonJS build's location: `import.meta` does not exist there.
export const moduleLocation: string = pathToFileURL(__filename).href;
