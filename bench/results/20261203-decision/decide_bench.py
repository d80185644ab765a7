"""One-off: CPU and wall time of a routing decision among 1,000 idle agents, old and new query."""
import asyncio, importlib.util, sys, time, os, uuid
sys.path.insert(0, "tests")
import harness
from incident_devstack.postgres import create_database, drop_database
from incident_kit.database import create_engine, create_session_factory
from incident_events.types import Severity
from router import repository as new
from router.domain import Incident, choose_agent
from sqlalchemy import text

spec = importlib.util.spec_from_file_location("old_repository", "/tmp/old_repository.py")
old = importlib.util.module_from_spec(spec); spec.loader.exec_module(old)

async def main():
    base = os.environ["DATABASE_URL"]
    name = f"scratch_{uuid.uuid4().hex[:8]}"
    url = create_database(name, database_url=base)
    await asyncio.to_thread(harness.migrate, url, "router")
    engine = create_engine(url)
    async with engine.begin() as c:
        await c.execute(text("INSERT INTO router.agents (agent_id, name, skills, languages, tier, capacity, presence, active_count) SELECT 'agent-' || n, 'Agent ' || n, '{\"billing\": 3}', '[\"en\", \"cs\"]', 2, 5, 'online', 0 FROM generate_series(1, 1000) n"))
        await c.execute(text("ANALYZE"))
    sessions = create_session_factory(engine)
    incident = Incident("inc", Severity.LOW, "en", required_skills=("billing",))
    for label, fn in (("old", old.least_loaded_eligible), ("new", new.best_eligible), ("old", old.least_loaded_eligible), ("new", new.best_eligible)):
        async with sessions() as s:
            for _ in range(20):
                e = await fn(s, incident=incident, min_tier=1); choose_agent(incident, e.agents)
            n = 300; c0 = time.process_time(); w0 = time.perf_counter()
            for _ in range(n):
                e = await fn(s, incident=incident, min_tier=1); choose_agent(incident, e.agents)
            print(f"{label}: {len(e.agents)} rows, wall {(time.perf_counter()-w0)/n*1000:.2f} ms, client CPU {(time.process_time()-c0)/n*1000:.2f} ms per decision")
    await engine.dispose()
    drop_database(name, database_url=base)

asyncio.run(main())
