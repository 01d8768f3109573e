/// @file
/// The umbrella header of muster's core: gather, as_completed, with_group,
/// deadlines, offload and from_callback.
#pragma once
