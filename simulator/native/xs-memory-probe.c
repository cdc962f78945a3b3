/*
 * Simulator-only memory probe: XS's own chunk and slot accounting, read from inside the engine.
 * Linked into the simulator's xsnap-worker by scripts/build-xs-worker.js (every .c of
 * simulator/native/; each `void xs_vwsim_<name>(xsMachine* the)` becomes globalThis.xs_vwsim_<name>).
 * Not firmware: it reads XS internals (txMachine fields) through xsAll.h, which a device build does
 * not expose to modules. On the device the same figures come from the "instrumentation" module:
 * "XS Chunk Heap Used" is the->currentChunksSize, "XS Slot Heap Used" the->currentHeapCount x sizeof(txSlot).
 *
 * The fields (xsMemory.c): currentChunksSize is the bytes of the chunk blocks in use (chunk headers
 * and alignment included; recomputed to the live total by each garbage collection, live plus garbage
 * in between); currentHeapCount the slots in use (likewise); the peaks are the largest values since
 * the machine was created or since xs_vwsim_reset_peaks.
 */
#include "xsAll.h"
#include "xs.h" /* after xsAll.h: xsMachine is then txMachine, and the xs* macros work on it */

/* args: 0 -- returns {currentChunksBytes, peakChunksBytes, currentSlots, peakSlots} */
void xs_vwsim_memory(xsMachine* the)
{
	/* read before anything is allocated for the answer */
	txSize currentChunks = the->currentChunksSize;
	txSize peakChunks = the->peakChunksSize;
	txSize currentSlots = the->currentHeapCount;
	txSize peakSlots = the->peakHeapCount;
	xsResult = xsNewObject();
	xsSet(xsResult, xsID("currentChunksBytes"), xsInteger(currentChunks));
	xsSet(xsResult, xsID("peakChunksBytes"), xsInteger(peakChunks));
	xsSet(xsResult, xsID("currentSlots"), xsInteger(currentSlots));
	xsSet(xsResult, xsID("peakSlots"), xsInteger(peakSlots));
	xsSet(xsResult, xsID("slotBytes"), xsInteger((txInteger)sizeof(txSlot)));
}

/* args: 0 -- the peaks restart from the current values */
void xs_vwsim_reset_peaks(xsMachine* the)
{
	the->peakChunksSize = the->currentChunksSize;
	the->peakHeapCount = the->currentHeapCount;
}

#if mxStress
extern int gxStress; /* xsMemory.c: with mxStress, > 0 collects garbage before every slot and chunk allocation */
#endif

/*
 * args: 1 -- xs_vwsim_stress(on): in an engine built with -DmxStress=1, a garbage collection before
 * every allocation while on (the peaks are then live data, no garbage); xs_vwsim_stress() changes
 * nothing. Returns whether the engine has that mode (false in the simulator's normal worker, where
 * it does nothing).
 */
void xs_vwsim_stress(xsMachine* the)
{
#if mxStress
	if (xsToInteger(xsArgc) > 0)
		gxStress = xsTest(xsArg(0)) ? 1 : 0;
	xsResult = xsTrue;
#else
	xsResult = xsFalse;
#endif
}
