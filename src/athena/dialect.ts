/**
 * The SQL trailhound sends to Athena is Trino SQL, and only that text ships. Tests run the very
 * same text on DuckDB to prove that it computes what the in-process core computes. Where DuckDB
 * lacks a Trino function, the DuckDB session gets a macro of the same name (this file): the switch
 * is limited to function names, the SQL text is not rewritten.
 *
 * Semantic differences the generator already writes around (so no macro is needed):
 * - `split_part` past the last field and `regexp_extract` without a match: NULL in Trino, '' in
 *   DuckDB. The generator wraps them in `nullif(..., '')` or only uses them where a field exists.
 * - Integer division: Trino `bigint / bigint` truncates, DuckDB returns a double; and in Trino a
 *   literal such as `3600000.0` is a DECIMAL whose division rounds. The generator divides
 *   `x - x % d` by `d` (exact in both) and casts to bigint.
 * - `concat(a, NULL)`: NULL in Trino, `a` in DuckDB. The generator uses `||` (NULL in both).
 * - Regex anchors: `^`/`$` are line anchors in Trino's default regex engine (Joni); the generator
 *   writes `\A` and `\z`, which mean start/end of text in Joni, RE2J, java.util.regex and RE2.
 */

/** Trino function name -> DuckDB macro definition (parameters and body). */
export const DUCKDB_FUNCTION_MACROS: Readonly<Record<string, string>> = {
  regexp_like: "(s, p) AS regexp_matches(s, p)",
  from_iso8601_timestamp: "(s) AS CAST(s AS TIMESTAMPTZ)",
  to_unixtime: "(t) AS epoch(t)",
  json_extract_scalar: "(j, p) AS json_extract_string(j, p)",
  json_format: "(j) AS CAST(j AS VARCHAR)",
  // Trino's sequence(a, b) is an array; DuckDB's generate_series(a, b) is the same list.
  sequence: "(a, b) AS generate_series(a, b)",
};

/** Statements to run once on a DuckDB connection before running trailhound's Trino SQL. */
export function duckdbPrelude(): string[] {
  return Object.entries(DUCKDB_FUNCTION_MACROS).map(([name, def]) => `CREATE OR REPLACE MACRO ${name}${def}`);
}

/**
 * Functions the generator may call. Each exists in Athena engine version 3 (Trino); those missing
 * from DuckDB are in DUCKDB_FUNCTION_MACROS. A test parses the generated SQL and fails on any
 * other function, so new SQL stays within what both engines run.
 */
export const TRINO_FUNCTIONS: readonly string[] = [
  "cast",
  "try",
  "coalesce",
  "nullif",
  "lower",
  "reverse",
  "split_part",
  "strpos",
  "substr",
  "length",
  "regexp_like",
  "regexp_replace",
  "regexp_extract",
  "from_iso8601_timestamp",
  "to_unixtime",
  "json_extract_scalar",
  "json_format",
  "json_extract",
  "json_array_length",
  "sequence",
  "least",
  "count",
  "sum",
  "min",
  "max",
  "grouping",
  "row_number",
];
