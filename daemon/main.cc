// bocd: Behavior-Oriented Concurrency as a service. See daemon/app/.
#include "app/app.h"

int main(int argc, char** argv) { return bocd::app::main(argc, argv); }
