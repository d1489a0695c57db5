/**
 * The objects the simulator serves, with their fields taken from the official OpenAPI spec
 * (`openapi.json`, a copy of ServiceM8's `api.json`) so that records carry exactly the spec's fields.
 * What the spec cannot say (which strings are decimals, dates or 0/1 flags; scopes the spec forgot) is
 * listed here explicitly.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const OBJECT_NAMES = [
  'job',
  'jobmaterial',
  'jobpayment',
  'company',
  'companycontact',
  'material',
  'taxrate',
  'note',
  'staff',
  'vendor',
] as const;
export type ObjectName = (typeof OBJECT_NAMES)[number];

/**
 * How a field is stored and validated:
 * - uuid: "" or a UUID; decimal: 4-place string; date: "YYYY-MM-DD HH:MM:SS" ("0000-00-00 00:00:00" unset)
 * - intFlag: integer 0/1 (spec `integer enum [0,1]`); stringFlag: "0"/"1" string; intString: "0", "12"
 * - number: JSON number; json: JSON-in-a-string ("[]"); string: anything else.
 */
export type FieldKind =
  'uuid' | 'decimal' | 'date' | 'intFlag' | 'stringFlag' | 'intString' | 'number' | 'json' | 'string';

export interface FieldDef {
  name: string;
  kind: FieldKind;
  maxLength?: number;
  enumValues?: readonly string[];
  /** Not writable through the API (silently ignored when sent, like the real API's read-only fields). */
  readOnly: boolean;
}

export interface ScopeRule {
  /** Any one of these scopes allows the operation; the first is named in the 403 message. */
  read: readonly string[];
  create: readonly string[];
  update: readonly string[];
}

export interface ObjectDef {
  name: ObjectName;
  /** Capitalised form used in webhook `resource_url` (`/api_1.0/Job/<uuid>.json`). */
  resourceName: string;
  schemaName: string;
  /** Other path spellings that reach this object (the spec reads notes at `/dbonote/{uuid}.json`). */
  aliases: readonly string[];
  writable: boolean;
  /** Fields that must be present and non-empty on create. */
  required: readonly string[];
  scopes: ScopeRule;
  fields: ReadonlyMap<string, FieldDef>;
}

const SPEC_FILE = join(__dirname, 'openapi.json');

const DECIMAL_FIELDS: Partial<Record<ObjectName, readonly string[]>> = {
  job: ['total_invoice_amount', 'payment_amount'],
  jobmaterial: ['quantity', 'price', 'displayed_amount', 'cost', 'displayed_cost'],
  jobpayment: ['amount'],
  material: ['price', 'cost'],
  taxrate: ['amount'],
};
const STRING_FLAG_FIELDS = new Set([
  'displayed_amount_is_tax_inclusive',
  'is_primary_contact',
  'use_description_for_invoicing',
  'can_receive_push_notification',
]);
const INT_STRING_FIELDS = new Set(['sort_order']);
const JSON_FIELDS = new Set(['badges']);

/** Read-only fields the spec marks only in prose, or that the server derives. */
const EXTRA_READ_ONLY: Partial<Record<ObjectName, readonly string[]>> = {
  job: [
    'generated_job_id',
    'total_invoice_amount',
    'quote_sent_stamp',
    'invoice_sent_stamp',
    'payment_processed_stamp',
    'payment_received_stamp',
    'completion_actioned_by_uuid',
    'job_is_scheduled_until_stamp',
  ],
  jobpayment: ['is_deposit'],
  company: ['is_individual'],
  note: ['edit_by_staff_uuid'],
};

const manage = (read: string, write: string): ScopeRule => ({
  read: [read, write],
  create: [write],
  update: [write],
});

/** Scopes per object ([SPEC] security blocks; jobpayment/taxrate scopes are missing from its scope list). */
const SCOPES: Record<ObjectName, ScopeRule> = {
  // create_jobs, not manage_jobs, is what a job create needs; manage_jobs covers read, update, delete.
  job: { read: ['read_jobs', 'manage_jobs'], create: ['create_jobs'], update: ['manage_jobs'] },
  jobmaterial: manage('read_job_materials', 'manage_job_materials'),
  jobpayment: manage('read_job_payments', 'manage_job_payments'),
  company: manage('read_customers', 'manage_customers'),
  companycontact: manage('read_customer_contacts', 'manage_customer_contacts'),
  material: manage('read_inventory', 'manage_inventory'),
  taxrate: manage('read_tax_rates', 'manage_tax_rates'),
  note: { read: ['read_job_notes'], create: ['publish_job_notes'], update: ['publish_job_notes'] },
  staff: manage('read_staff', 'manage_staff'),
  vendor: { read: ['vendor'], create: ['vendor'], update: ['vendor'] },
};

const META: Record<ObjectName, { schema: string; resource: string; aliases?: string[]; required: string[] }> =
  {
    job: { schema: 'Job', resource: 'Job', required: ['status'] },
    jobmaterial: { schema: 'JobMaterial', resource: 'JobMaterial', required: ['job_uuid', 'quantity'] },
    // The spec marks nothing required; a payment without a job cannot exist in ServiceM8 (sim decision).
    jobpayment: { schema: 'JobPayment', resource: 'JobPayment', required: ['job_uuid'] },
    company: { schema: 'Company', resource: 'Company', required: ['name'] },
    companycontact: { schema: 'CompanyContact', resource: 'CompanyContact', required: [] },
    material: { schema: 'Material', resource: 'Material', required: ['name'] },
    taxrate: { schema: 'TaxRate', resource: 'TaxRate', required: ['name'] },
    note: { schema: 'Note', resource: 'Note', aliases: ['dbonote'], required: [] },
    staff: { schema: 'Staff', resource: 'Staff', required: ['first', 'last', 'email'] },
    vendor: { schema: 'Vendor', resource: 'Vendor', required: ['name'] },
  };

type JsonObject = Record<string, unknown>;

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

let cachedSpec: JsonObject | undefined;

/** The parsed OpenAPI document (read once; 1.8 MB). */
export function loadOpenApiSpec(): JsonObject {
  if (!cachedSpec) {
    const parsed: unknown = JSON.parse(readFileSync(SPEC_FILE, 'utf8'));
    if (!isObject(parsed)) throw new Error(`${SPEC_FILE} is not a JSON object`);
    cachedSpec = parsed;
  }
  return cachedSpec;
}

function schemaProperties(spec: JsonObject, schemaName: string): JsonObject {
  const components = spec.components;
  const schemas = isObject(components) ? components.schemas : undefined;
  const schema = isObject(schemas) ? schemas[schemaName] : undefined;
  const properties = isObject(schema) ? schema.properties : undefined;
  if (!isObject(properties)) throw new Error(`OpenAPI schema ${schemaName} has no properties`);
  return properties;
}

function isDateField(name: string): boolean {
  return name.endsWith('_date') || name.endsWith('_stamp') || name.endsWith('timestamp') || name === 'date';
}

function fieldKind(object: ObjectName, name: string, property: JsonObject): FieldKind {
  if (DECIMAL_FIELDS[object]?.includes(name)) return 'decimal';
  if (STRING_FLAG_FIELDS.has(name)) return 'stringFlag';
  if (INT_STRING_FIELDS.has(name)) return 'intString';
  if (JSON_FIELDS.has(name)) return 'json';
  if (property.format === 'uuid' || name.endsWith('_uuid') || name === 'uuid') return 'uuid';
  if (property.type === 'integer') return 'intFlag';
  if (property.type === 'number') return 'number';
  if (isDateField(name)) return 'date';
  return 'string';
}

function buildObjectDef(spec: JsonObject, name: ObjectName): ObjectDef {
  const meta = META[name];
  const readProps = schemaProperties(spec, meta.schema);
  const createSchema = `${meta.schema}Create`;
  let createProps: JsonObject | undefined;
  try {
    createProps = schemaProperties(spec, createSchema);
  } catch {
    createProps = undefined;
  }
  const extraReadOnly = new Set(EXTRA_READ_ONLY[name] ?? []);
  const fields = new Map<string, FieldDef>();
  for (const [field, raw] of Object.entries(readProps)) {
    const property = isObject(raw) ? raw : {};
    const kind = fieldKind(name, field, property);
    const readOnly =
      field === 'edit_date' ||
      property.readOnly === true ||
      extraReadOnly.has(field) ||
      // Absent from the create/update schema means server-owned, except `active` (restore by POSTing 1).
      (createProps !== undefined && !(field in createProps) && field !== 'active');
    const def: FieldDef = { name: field, kind, readOnly };
    if (typeof property.maxLength === 'number') def.maxLength = property.maxLength;
    if (Array.isArray(property.enum) && property.enum.every((v) => typeof v === 'string')) {
      def.enumValues = property.enum as string[];
    }
    fields.set(field, def);
  }
  return {
    name,
    resourceName: meta.resource,
    schemaName: meta.schema,
    aliases: meta.aliases ?? [],
    writable: name !== 'vendor',
    required: meta.required,
    scopes: SCOPES[name],
    fields,
  };
}

let cachedDefs: ReadonlyMap<ObjectName, ObjectDef> | undefined;

export function objectDefs(): ReadonlyMap<ObjectName, ObjectDef> {
  if (!cachedDefs) {
    const spec = loadOpenApiSpec();
    cachedDefs = new Map(OBJECT_NAMES.map((name) => [name, buildObjectDef(spec, name)]));
  }
  return cachedDefs;
}

export function objectDef(name: ObjectName): ObjectDef {
  const def = objectDefs().get(name);
  if (!def) throw new Error(`unknown object ${name}`);
  return def;
}

/** Resolves a path segment (`Job`, `job`, `dbonote`) to an object name; case-insensitive. */
export function resolveObjectName(segment: string): ObjectName | undefined {
  const lower = segment.toLowerCase();
  for (const def of objectDefs().values()) {
    if (def.name === lower || def.aliases.includes(lower)) return def.name;
  }
  return undefined;
}

/** Every OAuth scope the simulator recognises (the spec's list plus the ones endpoints need but it omits). */
export function knownScopes(): ReadonlySet<string> {
  const spec = loadOpenApiSpec();
  const scopes = new Set<string>();
  const components = spec.components;
  const schemes = isObject(components) ? components.securitySchemes : undefined;
  const oauth = isObject(schemes) ? schemes.oauth2 : undefined;
  const flows = isObject(oauth) ? oauth.flows : undefined;
  const code = isObject(flows) ? flows.authorizationCode : undefined;
  const declared = isObject(code) ? code.scopes : undefined;
  if (isObject(declared)) for (const scope of Object.keys(declared)) scopes.add(scope);
  for (const rule of Object.values(SCOPES)) {
    for (const scope of [...rule.read, ...rule.create, ...rule.update]) scopes.add(scope);
  }
  for (const extra of ['read_job_attachments', 'read_suppliers', 'manage_suppliers']) scopes.add(extra);
  return scopes;
}
