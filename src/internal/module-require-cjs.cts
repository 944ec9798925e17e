// The CommonJS build's own `require`: `import.meta` does not exist there.
export const moduleRequire: NodeJS.Require = require;
