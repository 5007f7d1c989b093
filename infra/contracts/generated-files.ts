import {
  buildAsyncApiDocument,
  buildOpenApiDocument,
  jsonSchemaOf,
  kasmapEventSchemas,
} from "@kasmap/contracts";
import { errorCatalogueMarkdown } from "@kasmap/gateway-service";

/** The error catalogue page (code → status → body), generated from the gateway's error handler. */
export const ERROR_CATALOGUE_PAGE = "docs/errors.md";

/** Where the generated contract documents are committed, relative to the repository root. */
export const GENERATED_DIR = "libs/contracts/generated";

/**
 * Every generated file (path relative to the repository root → content): the OpenAPI and
 * AsyncAPI documents and one JSON Schema per event type (`events/<type>.schema.json`, the whole
 * CloudEvent). Pure, so the generator writes exactly what the up-to-date test compares.
 */
export function generatedContractFiles(): Map<string, string> {
  const files = new Map<string, string>();
  const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;
  files.set(`${GENERATED_DIR}/openapi.json`, json(buildOpenApiDocument()));
  files.set(`${GENERATED_DIR}/asyncapi.json`, json(buildAsyncApiDocument()));
  for (const { type, schema } of kasmapEventSchemas()) {
    const document = {
      $schema: "https://json-schema.org/draft/2020-12/schema",
      $id: `https://kasmap.io/schemas/events/${type}.schema.json`,
      title: type,
      ...jsonSchemaOf(schema, "output"),
    };
    files.set(`${GENERATED_DIR}/events/${type}.schema.json`, json(document));
  }
  files.set(ERROR_CATALOGUE_PAGE, errorCatalogueMarkdown());
  return files;
}
