/*
 * Simulator-only meter read-out: how many computrons XS has spent, read from inside the engine, so
 * that the simulated board's clock (firmware/sim/virtual-clock.ts) can charge device code its cost.
 * Linked into the simulator's xsnap-worker by scripts/build-xs-worker.js (every .c of
 * simulator/native/ becomes part of it; `void xs_vwsim_<name>(xsMachine* the)` is
 * globalThis.xs_vwsim_<name>). Not firmware: it reads a txMachine field through xsAll.h.
 *
 * What the meter counts (@agoric/xsnap 0.15.0, its Moddable fork): the worker is built with
 * -DmxMetering=1 (xsnap-worker.mk), and then the interpreter adds 1 to the->meterIndex for every
 * bytecode it dispatches (xsRun.c, mxBreak), plus a few more for calls and property accesses
 * (xsAll.h, mxMeterOne). It counts whatever the metering limit: with meteringLimit 0 (the
 * simulator's, simulator/xs-worker.ts) xsnap-worker passes no -l, so the meter interval is 0 and
 * fxCheckMetering never runs (no limit is enforced), but the increments in the dispatch loop are
 * unconditional. xsnap-worker sets the index to 0 at the start of each crank (xsBeginCrank:
 * xsSetCurrentMeter(the, 0)) and reports it at the end as meterUsage.compute. Host functions (C,
 * like the native DSP) execute no bytecode, so they cost almost nothing on this meter.
 * The index is a txU4: it wraps after 2^32 computrons within one crank; the reader subtracts modulo
 * 2^32, so only an interval of more than 2^32 computrons between two readings would be misread.
 */
#include "xsAll.h"
#include "xs.h" /* after xsAll.h: xsMachine is then txMachine, and the xs* macros work on it */

/* args: 0 -- computrons spent since the current crank began (the->meterIndex), or undefined in an
 * engine built without metering */
void xs_vwsim_computrons(xsMachine* the)
{
#ifdef mxMetering
	xsResult = xsNumber((txNumber)the->meterIndex);
#else
	xsResult = xsUndefined;
#endif
}
