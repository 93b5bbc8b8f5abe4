from jobqueue import HopRule, ManualClock, Scheduler

clock = ManualClock()  # virtual time: moves only when told
sched = Scheduler(clock=clock)  # queue "default": 100 slots, FIFO
sched.create_queue("reserved", slots=2, deferred_share=1.0, policy="priority",
                   preemption=True, pricing="reserved")
sched.create_queue("on-demand", slots=50)
low = [sched.submit(queue="reserved", priority=1, hops=[HopRule("on-demand", wait=600.0)])
       for _ in range(3)]  # two start, the third waits
urgent = sched.submit(queue="reserved", priority=9)  # preempts the latest-started job
print([str(sched.get(j.id).status) for j in (*low, urgent)])  # Active Paused Ready Active
clock.advance(600.0)
sched.poll()  # the waiting job hops to on-demand and starts there
sched.complete(urgent.id)  # the paused job resumes in its slot
print([(str(sched.get(j.id).status), sched.get(j.id).queue) for j in low])
sched.check_invariants()
