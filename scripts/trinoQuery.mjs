// Runs one SQL statement on Trino and prints its rows tab-separated (scripts/stack.sh
// uses it to wait for readiness; operators can use it for ad-hoc SQL).
// usage: node scripts/trinoQuery.mjs <server> <sql>
import { Trino, BasicAuth } from 'trino-client';

const [server, sql] = process.argv.slice(2);
if (!server || !sql) {
  console.error('usage: node scripts/trinoQuery.mjs <server> <sql>');
  process.exit(2);
}
const trino = Trino.create({ server, auth: new BasicAuth('tidemark') });
for await (const page of await trino.query(sql)) {
  if (page.error) {
    console.error(`${page.error.errorName}: ${page.error.message}`);
    process.exit(1);
  }
  for (const row of page.data ?? []) console.log(row.join('\t'));
}
