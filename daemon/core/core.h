// Umbrella header of the scheduling core; higher layers include only this.
#pragma once

#include "errc.h"
#include "events.h"
#include "ids.h"
#include "pump_watchdog.h"
#include "scheduler.h"
#include "terminator.h"
#include "value.h"
