import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { z } from "zod";
import { type KubeObject, kubeObjectSchema } from "./kube-object.ts";

const FILE_PATTERN = /\.(json|ya?ml)$/i;

export class ObjectFileError extends Error {
  override readonly name = "ObjectFileError";
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(`${file}: ${message}`);
  }
}

/**
 * Reads every `.json`, `.yaml` and `.yml` file of a folder (not recursive), in name order.
 * A file may hold one object, a `List` with `items`, or several YAML documents.
 * Throws `ObjectFileError` naming the file and the first invalid object.
 */
export async function loadObjectsFromDirectory(directory: string): Promise<KubeObject[]> {
  const names = (await readdir(directory)).filter((n) => FILE_PATTERN.test(n)).sort();
  const perFile = await Promise.all(
    names.map(async (name) => {
      const file = join(directory, name);
      return parseObjectFile(file, await readFile(file, "utf8"));
    }),
  );
  return perFile.flat();
}

/** Parses one file's text; `file` is used only in error messages. */
export function parseObjectFile(file: string, text: string): KubeObject[] {
  const documents = parseAllDocuments(text);
  const values: unknown[] = [];
  for (const document of Array.isArray(documents) ? documents : [documents]) {
    if (document.errors.length > 0) {
      throw new ObjectFileError(
        file,
        `not valid JSON or YAML: ${document.errors[0]?.message ?? "parse error"}`,
      );
    }
    const value: unknown = document.toJS();
    if (value !== null && value !== undefined) values.push(value);
  }
  return values.flatMap((value, index) => expandList(value).map((item) => validate(file, index, item)));
}

const listSchema = z.object({ kind: z.string().endsWith("List"), items: z.array(z.unknown()) });

function expandList(value: unknown): unknown[] {
  const list = listSchema.safeParse(value);
  return list.success ? list.data.items : [value];
}

function validate(file: string, documentIndex: number, value: unknown): KubeObject {
  const parsed = kubeObjectSchema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; ");
  throw new ObjectFileError(file, `document ${documentIndex + 1} is not a Kubernetes object (${issues})`);
}
