import { faultCode, faultDetail, startTestSim, type TestSim } from './helpers';

describe('QBO simulator: query language', () => {
  let t: TestSim;
  beforeAll(async () => {
    t = await startTestSim();
    for (const name of [
      "Grace O'Brien",
      'Harbour View Cafe',
      'Harbourside Gym',
      'Zeta Labs',
      'Alpha Dental',
    ]) {
      await t.api.post('/customer', { DisplayName: name });
    }
    const zeta = (
      await t.api.get('/query', {
        params: { query: "select * from Customer where DisplayName = 'Zeta Labs'" },
      })
    ).data.QueryResponse.Customer[0];
    await t.api.post('/customer', { Id: zeta.Id, SyncToken: zeta.SyncToken, sparse: true, Active: false });
  });
  afterAll(async () => {
    await t.sim.stop();
  });

  const q = async (query: string) => (await t.api.get('/query', { params: { query } })).data;

  it('SELECT * returns QueryResponse with the entity array, startPosition and maxResults', async () => {
    const data = await q('SELECT * FROM Customer');
    expect(data.QueryResponse.startPosition).toBe(1);
    expect(data.QueryResponse.maxResults).toBe(4);
    expect(data.QueryResponse.Customer).toHaveLength(4);
    expect(typeof data.time).toBe('string');
  });

  it('name lists are active-only unless Active appears in WHERE', async () => {
    expect(
      (await q('select * from Customer')).QueryResponse.Customer.map(
        (c: { DisplayName: string }) => c.DisplayName,
      ),
    ).not.toContain('Zeta Labs');
    expect((await q('select * from Customer where Active = false')).QueryResponse.Customer).toHaveLength(1);
    expect(
      (await q('select * from Customer where Active IN (true, false)')).QueryResponse.Customer,
    ).toHaveLength(5);
  });

  it('supports =, LIKE, IN, <, >=, dotted fields, ORDERBY DESC and escaped quotes', async () => {
    expect(
      (await q("select * from Customer where DisplayName = 'Grace O\\'Brien'")).QueryResponse.Customer[0]
        .DisplayName,
    ).toBe("Grace O'Brien");
    expect(
      (await q("select * from Customer where DisplayName LIKE '%harbour%'")).QueryResponse.Customer,
    ).toHaveLength(2);
    expect(
      (await q("select * from Customer where DisplayName IN ('Alpha Dental', 'Harbourside Gym')"))
        .QueryResponse.Customer,
    ).toHaveLength(2);
    expect((await q("select * from Customer where Id < '3'")).QueryResponse.Customer).toHaveLength(2);
    const since = await q("select * from Customer where MetaData.LastUpdatedTime >= '2000-01-01T00:00:00Z'");
    expect(since.QueryResponse.Customer).toHaveLength(4);
    const ordered = await q('select * from Customer ORDERBY DisplayName DESC');
    expect(ordered.QueryResponse.Customer[0].DisplayName).toBe('Harbourside Gym');
  });

  it('paginates with STARTPOSITION/MAXRESULTS (1-based); defaults to 100 rows', async () => {
    const page = await q('select * from Customer ORDERBY Id STARTPOSITION 2 MAXRESULTS 2');
    expect(page.QueryResponse).toMatchObject({ startPosition: 2, maxResults: 2 });
    expect(page.QueryResponse.Customer.map((c: { Id: string }) => c.Id)).toEqual(['2', '3']);
    const items = await q('select * from Account where Active IN (true,false) MAXRESULTS 100');
    expect(items.QueryResponse.maxResults).toBeLessThanOrEqual(100);
  });

  it('no matches → "QueryResponse": {}; COUNT(*) → totalCount', async () => {
    expect(await q("select * from Customer where DisplayName = 'Nobody'")).toMatchObject({
      QueryResponse: {},
    });
    expect((await q("select * from Customer where DisplayName = 'Nobody'")).QueryResponse).toEqual({});
    expect((await q('select count(*) from Customer')).QueryResponse).toEqual({ totalCount: 4 });
  });

  it('OR is a QueryParserError (4000); MAXRESULTS over 1000 is refused (4001)', async () => {
    const or = await t.api.get('/query', {
      params: { query: "select * from Customer where DisplayName = 'A' OR DisplayName = 'B'" },
    });
    expect(or.status).toBe(400);
    expect(faultCode(or.data)).toBe('4000');
    expect(faultDetail(or.data)).toMatch(/QueryParserError: Encountered " <OR> "OR ""/);
    expect(
      faultCode(
        (await t.api.get('/query', { params: { query: 'select * from Customer maxresults 1001' } })).data,
      ),
    ).toBe('4001');
  });

  it('POST /query with Content-Type application/text runs the statement', async () => {
    const response = await t.api.post('/query', 'select count(*) from Customer', {
      headers: { 'Content-Type': 'application/text' },
    });
    expect(response.data.QueryResponse.totalCount).toBe(4);
  });

  it('queries TaxCode (active only by default) and Item', async () => {
    const codes = (await q('select * from TaxCode')).QueryResponse.TaxCode.map(
      (code: { Name: string }) => code.Name,
    );
    expect(codes).toEqual(expect.arrayContaining(['GST', 'GST Free', 'Out Of Scope']));
    expect(await q('select * from Item')).toMatchObject({ QueryResponse: {} });
  });
});
