# A Modbus server for the southbound tests: Debian's python3-pymodbus (an implementation nobody
# here wrote), over TCP or RTU on a serial device (one end of a socat pty pair). The register map
# is given as JSON on the command line: {"holding": {addr: word}, "input": {...}, "coil": {...}, "discrete": {...}}.
# Usage: /usr/bin/python3 pymodbus-server.py (--tcp PORT | --rtu PATH) --map JSON [--unit N]
import argparse
import json
import logging

from pymodbus.datastore import ModbusSequentialDataBlock, ModbusServerContext, ModbusSlaveContext
from pymodbus.server import StartSerialServer, StartTcpServer
from pymodbus.transaction import ModbusRtuFramer

parser = argparse.ArgumentParser()
parser.add_argument("--tcp", type=int)
parser.add_argument("--rtu")
parser.add_argument("--map", required=True)
parser.add_argument("--unit", type=int, default=1)
args = parser.parse_args()
logging.basicConfig(level=logging.WARNING)

registers = json.loads(args.map)


def block(area):
    values = [0] * 200
    for address, value in registers.get(area, {}).items():
        values[int(address)] = int(value)
    return ModbusSequentialDataBlock(0, values)


# zero_mode: request address N reads block index N (pymodbus otherwise shifts by one)
slave = ModbusSlaveContext(hr=block("holding"), ir=block("input"), co=block("coil"), di=block("discrete"), zero_mode=True)
context = ModbusServerContext(slaves={args.unit: slave}, single=False)
print("serving", flush=True)
if args.tcp:
    # SO_REUSEADDR: a restarted server binds again while the old connections sit in TIME_WAIT
    StartTcpServer(context=context, address=("127.0.0.1", args.tcp), allow_reuse_address=True)
else:
    StartSerialServer(context=context, framer=ModbusRtuFramer, port=args.rtu, baudrate=19200, timeout=0.05)
