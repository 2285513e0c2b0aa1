-- Owned work and its reassignment: the records people own (contacts, leads, tasks) and
-- write (notes), every reassignment (a job, explicit or from the tenant's policy), each
-- move it made (so that it can be undone), and the tenant's default policy.

-- kind: contact, lead, task or note. status: tasks `pending`/`completed`, leads
-- `open`/`won`/`lost`, none for contacts and notes. `version` grows on every change, so an
-- undo can tell a record nobody touched since from one that was changed.
CREATE TABLE work_records (
    tenant_id   TEXT NOT NULL REFERENCES tenants (id),
    id          TEXT NOT NULL,
    kind        TEXT NOT NULL,
    owner_id    TEXT NOT NULL,
    title       TEXT NOT NULL,
    status      TEXT,
    archived    INTEGER NOT NULL,
    version     INTEGER NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
) WITHOUT ROWID;
-- A leaver's records of one kind in their stable order (ids are time-ordered UUIDv7): the
-- allocation numbers them with row_number() over this index.
CREATE INDEX work_records_owner ON work_records (tenant_id, owner_id, kind, id);

-- state: pending (waiting for the worker), done, failed, superseded (an explicit request
-- came first), undone. `plan` is the plan or policy as JSON; `result` the counts.
CREATE TABLE reassignments (
    tenant_id      TEXT NOT NULL REFERENCES tenants (id),
    id             TEXT NOT NULL,
    person_id      TEXT NOT NULL,
    source         TEXT NOT NULL,
    state          TEXT NOT NULL,
    plan           TEXT NOT NULL,
    deactivate_to  TEXT,
    result         TEXT,
    error          TEXT,
    actor          TEXT NOT NULL,
    attempts       INTEGER NOT NULL,
    locked_until   TEXT,
    created_at     TEXT NOT NULL,
    finished_at    TEXT,
    undone_at      TEXT,
    PRIMARY KEY (tenant_id, id)
) WITHOUT ROWID;
CREATE INDEX reassignments_person ON reassignments (tenant_id, person_id, id);
-- The worker claims pending jobs of any tenant; done ones are never scanned again.
CREATE INDEX reassignments_pending ON reassignments (tenant_id, created_at) WHERE state = 'pending';

-- One row per record a reassignment touched: `move` (to another owner) or `archive` (a
-- completed task that stays with the leaver). version_after is the record's version the
-- reassignment left; undo puts back only records still at that version.
CREATE TABLE reassignment_moves (
    tenant_id      TEXT NOT NULL,
    job_id         TEXT NOT NULL,
    record_id      TEXT NOT NULL,
    kind           TEXT NOT NULL,
    action         TEXT NOT NULL,
    from_owner     TEXT NOT NULL,
    to_owner       TEXT NOT NULL,
    version_after  INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, job_id, record_id),
    FOREIGN KEY (tenant_id, job_id) REFERENCES reassignments (tenant_id, id)
) WITHOUT ROWID;

-- What a deprovisioning without an explicit plan does: mode `unassigned` (list the work
-- in a report, move nothing) or `manager` (to the person's enterprise manager, else to
-- fallback_id, else unassigned).
CREATE TABLE reassignment_policies (
    tenant_id    TEXT NOT NULL REFERENCES tenants (id),
    mode         TEXT NOT NULL,
    fallback_id  TEXT,
    PRIMARY KEY (tenant_id)
) WITHOUT ROWID;
