// The training driver both trainers run: evaluation, sampling, checkpoint save and resume,
// logging, timing, clipping and the main loop, written once against the model contract in
// llmc/model/model_api.h. A trainer includes this after defining struct GPT2 and its gpt2_* functions;
// its main() is train_main().
#pragma once
#include <sys/resource.h>

#include <algorithm>
#include <cmath>
#include <csignal>
#include <string>
#include <vector>

#include "cli.h"
#include "comm.h"
#include "init_probe.h"
#include "../io/dataloader.h"
#include "../model/model.h"
#include "../model/model_api.h"
#include "../rand.h"
#include "run.h"
#include "sampler.h"
#include "schedule.h"
#include "../io/state.h"
#include "../io/tokenizer.h"
#include "../utils.h"

// Mean loss over max_batches val batches (< 0: one epoch), from the start of the val data. With P
// processes, batch i is evaluated by process i % P (its loader hands it samples r, r+P, ...) and
// the sum is reduced: the same batches and loss as one process (each val shard contributing a
// multiple of P batches: floor(samples / P) * P).
inline float evaluate(GPT2* model, DataLoader* val, int max_batches) {
    dataloader_reset(val);
    int64_t per_epoch = 0;
    for (size_t s = 0; s < val->files.size(); s++) per_epoch += dataloader_samples_per_shard(val, (int)s) * val->num_processes;
    const int64_t n = max_batches < 0 ? per_epoch : std::min<int64_t>(max_batches, per_epoch);
    double sum = 0.0;
    for (int64_t i = val->rank; i < n; i += val->num_processes) {
        dataloader_next_batch(val);
        sum += gpt2_forward(model, val->inputs.data(), val->targets.data(), val->B, val->T);
    }
    comm_allreduce_sum(&sum, 1);
    return (float)(sum / (double)n);
}

// Generates up to gen_tokens tokens after EOT, B=1, one full forward of the prefix per token.
// Prints decoded text, or token ids if no tokenizer was found. tokens (gen_tokens + 1) and
// probs (V) are the caller's buffers, allocated once.
inline void gpt2_sample(GPT2* model, const Tokenizer* tok, Mt19937* rng, int gen_tokens, std::vector<int>& tokens,
                        std::vector<float>& probs) {
    const int V = model->config.vocab_size;
    const int maxlen = std::min(gen_tokens, model->max_T - 1) + 1;
    std::fill(tokens.begin(), tokens.end(), std::min(GPT2_EOT, V - 1));  // EOT, or a custom vocab's last id
    printf("generating:\n---\n");
    for (int t = 1; t < maxlen; t++) {
        gpt2_forward(model, tokens.data(), nullptr, 1, t);
        tokens[t] = sample_from_logits(gpt2_logits_row(model, t - 1), V, rng->uniform_f32(), probs.data());
        print_token(tok, tokens[t]);
    }
    printf("\n---\n");
}

// Reads a version 3 or 5 checkpoint into the model (built for its config).
inline void gpt2_load_weights(GPT2* model, const char* path) {
    checkpoint_load_params(gpt2_host(model).params, model->config, path);
    gpt2_to_device(model, /*weights=*/true, /*optimizer=*/false);
}

// model_%08d.bin (the backend's precision, from rank 0) + one state_%08d_%05d.bin per rank (m, v,
// fp32 master weights when kept, that rank's progress s), then, once every rank has written (a
// barrier), DONE_%08d from rank 0 marks the set complete. Every file is written to a temp name and
// renamed: a crash never leaves a half-written checkpoint.
inline void save_checkpoint(GPT2* model, const std::string& dir, const TrainState& s) {
    gpt2_to_host(model, /*optimizer=*/true);
    const HostState h = gpt2_host(model);
    // never write (or let -nk prune for) a checkpoint that holds a NaN or inf
    for (const float* x : {h.params, h.m, h.v}) {
        for (size_t i = 0, n = x == h.params ? h.n : h.opt_n; i < n; i++) {
            if (!std::isfinite(x[i])) {
                die("step %d: the %s hold a non-finite value (element %zu): no checkpoint written; the last one in %s stays",
                    s.step, x == h.params ? "weights" : "AdamW moments", i, dir.c_str());
            }
        }
    }
    // until DONE is written, an error exit (a full disk) removes the files of this step already
    // written: no orphan model file is left to fill the disk, and the last DONE checkpoint stays
    // (with several ranks, a rank that fails aborts the job: no DONE is written)
    const std::string model_path = checkpoint_path(dir, "model", s.step), state_path = checkpoint_path(dir, "state", s.step, s.rank);
    if (s.rank == 0) {
        checkpoint_write(model_path, model->config, h.params, h.n, h.model_version);
        pending_add(model_path);
    }
    state_write(state_path, s, h.m, h.v, h.master ? h.params + h.opt_lo : nullptr, h.opt_n);
    pending_add(state_path);
    comm_barrier();
    if (s.rank == 0) {
        AtomicWriter done(checkpoint_path(dir, "DONE", s.step));
        done.commit();
    }
    pending_forget(model_path);
    pending_forget(state_path);
    printf("wrote checkpoint %s (step %d%s)\n", model_path.c_str(), s.step,
           s.processes > 1 ? (", " + std::to_string(s.processes) + " state files").c_str() : "");
}

// After gpt2_load_weights of the same step's model file: m, v, and the fp32 master weights when
// the state file has them. They replace the model file's values (bf16 in a version-5 file), so
// a run resumed on either backend continues from exactly the weights that were trained.
inline TrainState load_state(GPT2* model, const std::string& dir, int step) {
    const HostState h = gpt2_host(model);
    TrainState s = state_read(checkpoint_path(dir, "state", step, g_comm.rank), h.m, h.v, h.params + h.opt_lo, h.opt_n, g_comm.size, g_comm.rank);
    gpt2_to_device(model, /*weights=*/s.master_weights != 0, /*optimizer=*/true);
    return s;
}

// SIGINT / SIGTERM (cluster preemption sends SIGTERM): the handler only records the signal and
// restores the default action, so a second signal stops the run at once. The loop finishes the
// step it is in, writes a checkpoint (with -o) and exits 0 saying how to resume.
inline volatile sig_atomic_t g_stop_signal = 0;
extern "C" inline void on_stop_signal(int sig) {
    g_stop_signal = sig;
    signal(sig, SIG_DFL);
}

inline int train_main(int argc, char** argv, bool cuda) {
    comm_init(&argc, &argv);  // first: under mpirun, any error from here on aborts the whole job
    TrainConfig cfg;
    parse_args(argc, argv, &cfg, cuda);
    validate_config(cfg);
    print_config(cfg, cuda);
    const RunStart rs = run_start_resolve(cfg);  // resume, checkpoint or from scratch (llmc/train/run.h)
    const GPT2Config& mc = rs.config;
    const int resume_step = rs.resume_step;
    // -init-report is host work: no device needed, and the same report from either trainer
    if (cfg.init_report) {
        if (comm_root()) run_init_report(cfg, rs);
        return 0;
    }
    gpt2_backend_init(cfg);  // (the CUDA backend picks this rank's GPU and sets up NCCL)
    if (g_comm.size > 1) {
        printf("comm: %s, %d processes (%d on this machine), this is rank %d\n", g_comm.kind, g_comm.size,
               g_comm.local_size, g_comm.rank);
    }

    GPT2 model;
    BuildOptions opts;
    opts.B = cfg.B;
    opts.T = cfg.T;
    opts.master_weights = cfg.master_weights;
    opts.recompute = cfg.recompute;
    opts.tf32 = cfg.tf32;
    opts.flash_attention = cfg.flash_attention != 0;
    opts.gelu_fusion = cfg.gelu_fusion != 0;
    opts.prof_step = cfg.prof_step;
    // ZeRO-1 (-z 1 with several processes): this rank keeps AdamW state for its shard only
    const bool zero = cfg.zero_stage == 1 && g_comm.size > 1;
    if (zero) {
        size_t sizes[NUM_PARAMETER_TENSORS];
        fill_param_sizes(sizes, mc);
        const Shard shard = optimizer_shard(count_params(sizes), g_comm.size, g_comm.rank);
        opts.opt_lo = shard.lo;
        opts.opt_n = shard.n;
    }
    // refuse what cannot fit, with the numbers, instead of being OOM-killed with no message
    // (per process; the processes on one machine share its host memory)
    MemoryNeed mem = gpt2_memory_needed(mc, opts);
    mem.host_bytes *= (size_t)g_comm.local_size;
    const size_t host_avail = host_memory_available();
    const double GiB = 1073741824.0;
    printf("memory: %.2f GiB host%s (%.1f GiB available)", mem.host_bytes / GiB,
           g_comm.local_size > 1 ? (" for " + std::to_string(g_comm.local_size) + " processes").c_str() : "", host_avail / GiB);
    if (mem.device_bytes) printf(" | %.2f GiB device (%.1f GiB free)", mem.device_bytes / GiB, mem.device_free / GiB);
    printf(" | optimizer state %.1f MiB per process%s\n", mem.optimizer_bytes / 1048576.0,
           zero ? (" (ZeRO-1: 1/" + std::to_string(g_comm.size) + " of it)").c_str() : "");
    if (mem.host_bytes > host_avail) {
        die("-b %d -t %d with this model needs %.2f GiB of host memory, %.2f GiB is available: lower -b or -t, or use a "
            "smaller model", cfg.B, cfg.T, mem.host_bytes / GiB, host_avail / GiB);
    }
    if (mem.device_bytes > mem.device_free) {
        die("-b %d -t %d with this model needs %.2f GiB of device memory, %.2f GiB is free: lower -b or -t (or -r 1)",
            cfg.B, cfg.T, mem.device_bytes / GiB, mem.device_free / GiB);
    }
    gpt2_build(&model, mc, opts);
    double t_init = now_ms();
    // the same initial weights, bit for bit, on either backend for every -init / -init-emb / -tie
    run_start_params(gpt2_host(&model).params, rs, (uint32_t)cfg.seed);
    gpt2_to_device(&model, /*weights=*/true, /*optimizer=*/false);
    t_init = now_ms() - t_init;
    printf("model: L=%d NH=%d C=%d maxT=%d V=%d Vp=%d, %s lm_head%s, %zu parameters (%s, %.0f ms)%s\n", mc.num_layers,
           mc.num_heads, mc.channels, mc.max_seq_len, mc.vocab_size, mc.padded_vocab_size, mc.tied ? "tied" : "untied",
           mc.mup_base ? (", muP base width " + std::to_string(mc.mup_base)).c_str() : "", model.num_parameters, rs.from_scratch ? ("init " + cfg.init_scheme).c_str() : rs.init_path.c_str(), t_init,
           gpt2_describe(&model).c_str());

    RunData data;
    run_data_init(&data, cfg, mc.vocab_size);
    DataLoader& train = data.train;
    const int total_batch = data.total_batch, grad_accum = data.grad_accum, max_steps = data.max_steps;
    if (cfg.init_probe) {  // signal propagation at init: one forward and backward, no update (llmc/train/init_probe.h);
                           // the probe's forward reads the fp32 host weights, the gradients are the backend's
        if (g_comm.size > 1) die("-init-probe runs in one process (it probes one batch)");
        dataloader_next_batch(&train);
        const float trainer_loss = gpt2_forward(&model, train.inputs.data(), train.targets.data(), cfg.B, cfg.T);
        gpt2_zero_grad(&model);
        gpt2_backward(&model, 1.0f);
        ProbeResult pr = init_probe_forward(gpt2_host(&model).params, mc, train.inputs.data(), train.targets.data(), cfg.B, cfg.T);
        const float lr0 = lr_at_step(cfg.lr_scheduler.c_str(), 0, max_steps, cfg.warmup_steps, cfg.learning_rate, cfg.final_lr_frac);
        std::vector<float> grads(model.num_parameters);
        gpt2_grads_to_host(&model, grads.data());
        init_probe_gradients(&pr, gpt2_host(&model).params, grads.data(), mc, lr0, cfg.weight_decay, cfg.eps, cfg.grad_clip);
        printf("trainer loss on the batch %.6f (probe %.6f)\n", trainer_loss, pr.loss);
        init_probe_report(pr, mc, mc.tied, cfg.output_dir.empty() ? "" : cfg.output_dir + "/init_probe.tsv");
        gpt2_free(&model);
        comm_finalize();
        return 0;
    }

    // -probe-every: the batch -init-probe would take (rank 0's first), from a loader of its own so the
    // training data order is untouched
    std::vector<int> probe_inputs, probe_targets;
    if (cfg.probe_every > 0 && comm_root()) {
        DataLoader probe_data;
        dataloader_init(&probe_data, cfg.train_glob.c_str(), cfg.B, cfg.T, 0, 1, cfg.shuffle, (uint32_t)cfg.seed, mc.vocab_size);
        dataloader_next_batch(&probe_data);
        probe_inputs = probe_data.inputs;
        probe_targets = probe_data.targets;
    }
    const std::string probe_path = cfg.output_dir.empty() ? "" : cfg.output_dir + "/probe_steps.tsv";

    Tokenizer tokenizer;  // only needed to print samples
    if (cfg.sample_every > 0 && comm_root()) tokenizer_init(&tokenizer, cfg.tokenizer_path.c_str());
    std::vector<int> sample_tokens(std::min(cfg.gen_tokens, cfg.T) + 1);  // a sample fits in one context
    std::vector<float> sample_probs(mc.vocab_size);
    RunProgress run;  // sampling RNG, outlier windows, log (llmc/train/run.h)
    run_progress_init(&run, cfg);
    if (resume_step >= 0) {
        TrainState s = load_state(&model, cfg.output_dir, resume_step);
        run_progress_resume(&run, s, cfg, &train, max_steps, checkpoint_path(cfg.output_dir, "state", resume_step, g_comm.rank));
        printf("resumed from step %d (%s%s)\n", run.start_step, rs.init_path.c_str(), s.master_weights ? " + fp32 master weights" : "");
    }
    const int start_step = run.start_step;
    run_log_open(&run, cfg, resume_step >= 0);
    FILE* log = run.log.get();

    AdamW adamw;
    adamw.beta1 = cfg.beta1;
    adamw.beta2 = cfg.beta2;
    adamw.eps = cfg.eps;
    adamw.weight_decay = cfg.weight_decay;
    adamw.seed = (uint32_t)cfg.seed;
    std::vector<double> step_ms;
    int nonfinite_run = 0;  // consecutive steps whose loss or grad norm was NaN or inf
    signal(SIGINT, on_stop_signal);
    signal(SIGTERM, on_stop_signal);
    const int P = g_comm.size;
    for (int step = start_step; step <= max_steps; step++) {
        const bool last = step == max_steps;
        const bool stopping = comm_allreduce_max((int)g_stop_signal) != 0;  // every rank stops at the same step
        const bool saves = !cfg.output_dir.empty() && cfg.checkpoint_every >= 0;  // -n -1: never
        if (run_checkpoint_due(cfg, step, start_step, last) || (stopping && saves && step > start_step)) {
            save_checkpoint(&model, cfg.output_dir, run_progress_state(run, step, train));
            if (comm_root()) checkpoint_prune(cfg.output_dir, cfg.checkpoints_keep);
        }
        if (stopping) {
            const std::string saved = cfg.output_dir.empty() ? " (no -o: nothing saved)"
                                      : !saves ? " (-n -1: no checkpoint written)"
                                      : "; resume with -y 1 -o " + cfg.output_dir;
            printf("stopped by signal %d after step %d%s\n", (int)g_stop_signal, step, saved.c_str());
            gpt2_free(&model);
            comm_finalize();
            return 0;
        }
        if (data.do_val && run_every(cfg.val_every, step, last)) run_log_val(&run, step, evaluate(&model, &data.val, cfg.val_max_steps));
        if (comm_root() && run_every(cfg.sample_every, step, last)) {
            gpt2_sample(&model, &tokenizer, &run.sample_rng, cfg.gen_tokens, sample_tokens, sample_probs);
        }
        if (cfg.probe_every > 0 && run_every(cfg.probe_every, step, last)) {  // weights after `step` updates
            gpt2_to_host(&model, /*optimizer=*/false);
            if (comm_root()) {
                const ProbeResult pr = init_probe_forward(gpt2_host(&model).params, mc, probe_inputs.data(), probe_targets.data(), cfg.B, cfg.T);
                probe_steps_append(pr, step, probe_path);
            }
        }
        if (last) break;

        gpt2_synchronize(&model);
        const double t0 = now_ms();
        gpt2_zero_grad(&model);
        double loss_sum = 0.0;
        for (int micro = 0; micro < grad_accum; micro++) {
            if (cfg.overfit_single_batch) dataloader_reset(&train);
            dataloader_next_batch(&train);
            loss_sum += gpt2_forward(&model, train.inputs.data(), train.targets.data(), cfg.B, cfg.T);
            gpt2_backward(&model, 1.0f / (float)(grad_accum * P));
        }
        // data parallel: the gradients (each rank's scaled by 1/P) and losses summed over ranks, so
        // every rank holds the mean gradient and takes the identical update
        // (ZeRO-1: each rank needs only its shard's sum, a reduce-scatter; -rms steps log every
        // tensor's gradient, so they take the full all-reduce)
        const GradView grads = gpt2_grads(&model);
        const bool rms_now = cfg.rms_every > 0 && step % cfg.rms_every == 0;
        if (zero && !rms_now) comm_reduce_scatter_grads(grads.data, grads.n, grads.on_device);
        else comm_allreduce_grads(grads.data, grads.n, grads.on_device);
        comm_allreduce_sum(&loss_sum, 1);
        const float loss = (float)(loss_sum / (grad_accum * P));
        if (rms_now) gpt2_log_rms(&model, step, log);
        float norm;
        if (zero) {  // each rank holds its shard's reduced gradients: add the exact squares
            double sq = gpt2_grad_sumsq(&model);
            comm_allreduce_sum(&sq, 1);
            norm = (float)std::sqrt(sq);
        } else {
            norm = gpt2_grad_norm(&model);
        }
        const float lr = lr_at_step(cfg.lr_scheduler.c_str(), step, max_steps, cfg.warmup_steps, cfg.learning_rate, cfg.final_lr_frac);
        // a non-finite loss or norm never reaches the weights (nor the -sl/-sg windows)
        const bool finite = std::isfinite(loss) && std::isfinite(norm);
        nonfinite_run = finite ? 0 : nonfinite_run + 1;
        const bool skip = !finite || run_outlier_skip(&run, cfg, loss, norm);
        if (!skip) {
            gpt2_update(&model, adamw, lr, clip_scale(norm, cfg.grad_clip), step + 1);
            if (zero) {  // every rank updated its shard: gather the weights
                const ParamView w = gpt2_params(&model);
                comm_allgather_shards(w.data, w.n, w.elem_bytes, w.on_device);
            }
        }
        gpt2_synchronize(&model);
        const double ms = now_ms() - t0;
        if (step > start_step) step_ms.push_back(ms);  // the first step warms caches and sets up cuBLAS
        printf("step %4d/%d | loss %.6f | norm %.4f | lr %.2e | %.1f ms | %.0f tok/s%s%s\n", step + 1, max_steps, loss,
               norm, lr, ms, total_batch / (ms / 1e3), gpt2_step_extra(&model, ms, total_batch, false).c_str(),
               !finite ? " | update skipped (non-finite loss or norm)" : skip ? " | update skipped (outlier)" : "");
        if (log) {
            fprintf(log, "s:%d trl:%.6f norm:%.6f lr:%.6e ms:%.3f%s%s\n", step, loss, norm, lr, ms,
                    gpt2_step_extra(&model, ms, total_batch, true).c_str(), !finite ? " skipped:1 nonfinite:1" : skip ? " skipped:1" : "");
            fflush(log);
        }
        if (nonfinite_run >= cfg.nonfinite_limit) {
            die("step %d: loss %g, grad norm %g: not finite for %d consecutive steps (-nf), none of them applied%s%s", step + 1,
                loss, norm, nonfinite_run, cfg.output_dir.empty() ? "" : "; the last checkpoint in ", cfg.output_dir.c_str());
        }
    }
    if (!step_ms.empty()) {
        std::sort(step_ms.begin(), step_ms.end());
        const double med = step_ms[step_ms.size() / 2];
        printf("median step %.1f ms over %zu steps | %.0f tok/s%s\n", med, step_ms.size(), total_batch / (med / 1e3),
               gpt2_summary_extra(&model).c_str());
    }
    if (P > 1) {  // each rank's peak host memory (rank 0's line alone would hide an imbalance)
        rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        const std::vector<double> rss = comm_allgather(ru.ru_maxrss / 1024.0);
        std::string line;
        for (int r = 0; r < P; r++) line += (r ? ", " : "") + std::to_string((int)(rss[r] + 0.5));
        printf("peak RSS per rank: %s MB\n", line.c_str());
    }
    gpt2_free(&model);
    comm_finalize();
    return 0;
}
