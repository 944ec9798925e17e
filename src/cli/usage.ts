/** What `cachetory --help` and `cachetory <command> --help` print. */
export const USAGE: Readonly<Record<string, string>> = {
  "": `cachetory: look at what a cache holds

Usage: cachetory <command> <backend URL> [arguments] [options]

Commands:
  get <url> <key>      print the value stored under key, as JSON
  keys <url>           print the keys, one per line (streamed with SCAN)
  ttl <url> <key>      print the milliseconds key has left, or "none"
  delete <url> <key>   delete key
  clear <url>          delete the keys under --prefix (or, with --all --yes, everything)
  stats <url>          print how many keys there are, as JSON

Options for every command:
  --serializer <url>   how values are stored (default json://; pickle:// for Python cachetory's default)
  --prefix <prefix>    the cache's key prefix: keys are given and printed without it
  -h, --help           this help, or a command's

Exit status: 0 on success, 1 when the key is absent (get, ttl, delete), 2 on a usage or connection error.
Run "cachetory <command> --help" for a command's own options.`,
  get: `Usage: cachetory get <url> <key> [--serializer <url>] [--prefix <prefix>]

Prints the value as JSON on stdout. What JSON cannot hold is marked: bytes as {"$bytes":"<base64>"}, a bigint
as {"$bigint":"123"}, a Map as {"$map":[[key,value],…]}, a Set as {"$set":[…]}, a Date as {"$date":"…"},
undefined as {"$undefined":true}, NaN, Infinity and -0 as {"$number":"NaN"}. A value that does not decode is
an error (exit 2) that names the serializer; nothing is deleted. Exit 1 when the key is absent.`,
  keys: `Usage: cachetory keys <url> [--match <glob>] [--limit <n>] [--prefix <prefix>]

Prints the keys (without the prefix), one per line, streamed page by page (SCAN on Redis), never all at once.
--match is a glob as Redis's SCAN MATCH reads it (*, ?, [a-z], [^a], \\ to escape). With stderr on a terminal,
the count and rate go there as it runs.`,
  ttl: `Usage: cachetory ttl <url> <key> [--prefix <prefix>]

Prints the milliseconds the key has left, or "none" when it never expires. Exit 1 when the key is absent.`,
  delete: `Usage: cachetory delete <url> <key> [--prefix <prefix>]

Deletes the key and prints "deleted". Exit 1 when the key was absent.`,
  clear: `Usage: cachetory clear <url> --prefix <prefix> [--yes]
       cachetory clear <url> --all --yes

Deletes every key under --prefix, streamed page by page, and prints how many. Without --prefix it refuses,
unless --all and --yes are both given (then the whole backend is emptied: FLUSHDB on Redis). Without --yes
it asks on a terminal, and refuses (exit 2) when stdin is not one.`,
  stats: `Usage: cachetory stats <url> [--prefix <prefix>] [--match <glob>]

Counts the keys (under the prefix, matching --match), streamed, and prints {"backend","prefix","keys"} as JSON.`,
};
