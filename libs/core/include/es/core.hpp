#pragma once
// Everything es::core offers, in one include.
#include <es/aggregate.hpp>
#include <es/asio.hpp>
#include <es/checkpoint_store.hpp>
#include <es/error.hpp>
#include <es/event.hpp>
#include <es/event_bus.hpp>
#include <es/event_registry.hpp>
#include <es/event_store.hpp>
#include <es/expected_version.hpp>
#include <es/idempotency.hpp>
#include <es/in_memory_event_bus.hpp>
#include <es/in_memory_event_store.hpp>
#include <es/log.hpp>
#include <es/repository.hpp>
#include <es/snapshot_store.hpp>
#include <es/with_timeout.hpp>
